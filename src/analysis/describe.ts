/** Per-sample summary: n, median, p95, coefficient of variation. */
import { mean, median, quantile, sampleStandardDeviation } from 'simple-statistics';

export interface SampleSummary {
  n: number;
  median: number;
  p95: number;
  /** Coefficient of variation (sample sd / mean), NaN below 2 values. */
  cov: number;
}

export function summarize(values: readonly number[]): SampleSummary {
  if (values.length === 0) return { n: 0, median: NaN, p95: NaN, cov: NaN };
  const xs = [...values];
  const m = mean(xs);
  return {
    n: xs.length,
    median: median(xs),
    p95: quantile(xs, 0.95),
    cov: xs.length > 1 && m !== 0 ? sampleStandardDeviation(xs) / Math.abs(m) : NaN,
  };
}

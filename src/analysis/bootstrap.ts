/**
 * Percentile bootstrap confidence interval for the % difference of medians,
 * 100 · (median(contender) / median(baseline) − 1). Seeded, so a report is reproducible.
 */
import { median } from 'simple-statistics';

export interface Interval {
  low: number;
  high: number;
}

export function bootstrapDiffPct(
  baseline: readonly number[],
  contender: readonly number[],
  opts: { resamples?: number; confidence?: number; seed?: number } = {},
): Interval {
  const resamples = opts.resamples ?? 2000;
  const alpha = 1 - (opts.confidence ?? 0.95);
  const rand = mulberry32(opts.seed ?? 0x5eed);
  const draw = (xs: readonly number[]) => median(Array.from(xs, () => xs[Math.floor(rand() * xs.length)]!));
  const diffs: number[] = [];
  for (let i = 0; i < resamples; i++) {
    const b = draw(baseline);
    if (b !== 0) diffs.push(100 * (draw(contender) / b - 1));
  }
  diffs.sort((a, b) => a - b);
  if (diffs.length === 0) return { low: NaN, high: NaN };
  const at = (q: number) => diffs[Math.min(diffs.length - 1, Math.max(0, Math.floor(q * diffs.length)))]!;
  return { low: at(alpha / 2), high: at(1 - alpha / 2) };
}

/** Small, fast, seedable PRNG (Tommy Ettinger's mulberry32). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

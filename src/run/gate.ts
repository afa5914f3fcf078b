/**
 * The regression gate (`run --baseline`, `compare --max-regression`): a significant
 * regression beyond the threshold fails (exit 1). Deciding is here; saying it is the CLI's.
 */
import { compare, regressions, type Comparison } from '../analysis/index.js';
import { BenchmarkFailedError, type RepetitionResult } from '../core/index.js';

export type Regression = ReturnType<typeof regressions>[number];

export interface GateVerdict {
  comparison: Comparison;
  maxRegressionPct: number;
  /** Significant regressions beyond the threshold; none: the gate passes. */
  regressions: Regression[];
}

export function judge(comparison: Comparison, maxRegressionPct: number): GateVerdict {
  return { comparison, maxRegressionPct, regressions: regressions(comparison, maxRegressionPct) };
}

/** The new run against the baseline run, cell by cell. */
export function againstBaseline(
  baselineRun: string,
  before: readonly RepetitionResult[],
  results: readonly RepetitionResult[],
  maxRegressionPct: number,
): GateVerdict {
  return judge(compare([...before, ...results], { by: 'run', baseline: baselineRun }), maxRegressionPct);
}

/** The error the gate ends with (exit 1), or undefined where it passes. */
export function gateFailure(v: GateVerdict): BenchmarkFailedError | undefined {
  if (v.regressions.length === 0) return undefined;
  return new BenchmarkFailedError(
    `${v.regressions.length} significant regression(s) beyond ${v.maxRegressionPct}% against ${v.comparison.baseline}`,
  );
}

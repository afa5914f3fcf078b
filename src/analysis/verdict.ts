/**
 * One contender against the baseline for one score: the Hodges-Lehmann % difference, its
 * interval and the verdict, all from one inverted rank test (hodges-lehmann.ts), so the
 * verdict says what the interval shows: "better"/"worse" exactly when the interval
 * excludes 0, "too few repetitions" when no interval at this level can exclude it.
 *
 * Why this and not what others do (read for this choice):
 * - asv (asv/statistics.py `is_different`) uses Mann-Whitney U too, and only when the
 *   smallest p the sample sizes allow is below its threshold, else falls back to
 *   non-overlapping 99 % intervals of the medians: a test and an interval that can disagree.
 * - Mozilla's Perfherder (treeherder/perf compare utils) rates a Welch t value (< 3 low,
 *   > 5 high confidence) on the means; conbench's "lookback z-score" and Bencher's
 *   thresholds (bencher.dev/docs/explanation/thresholds: t-test, z-score, percentage…)
 *   judge a new value against a history's mean and spread. Means and standard deviations
 *   are dragged by the outliers benchmarks on shared machines produce (one preempted
 *   repetition); ranks are not, and need no normality.
 * - Ratios: benchmark effects are multiplicative (a 10 % slowdown is 10 % whatever the
 *   unit), so the shift is estimated on the logs and reported as a ratio; the rank test is
 *   unchanged by the logarithm (it preserves order).
 */
import { median } from 'simple-statistics';
import type { Direction } from '../core/index.js';
import type { GroupStats } from './comparison.js';
import { hodgesLehmann, repetitionsNeeded } from './hodges-lehmann.js';

export type Judgement = Pick<
  GroupStats,
  'diffPct' | 'medianDiffPct' | 'ci' | 'p' | 'method' | 'needsRepetitions' | 'verdict'
>;

/**
 * `contender` against `baseline` (both non-empty) at `alpha`. On the log scale when every
 * value is positive; otherwise (zeros, negative scores) the shift of the values themselves,
 * as a % of the baseline's median.
 */
export function judge(
  baseline: readonly number[],
  contender: readonly number[],
  direction: Direction,
  alpha: number,
): Judgement {
  const bMedian = median([...baseline]);
  const medianDiffPct = bMedian === 0 ? NaN : 100 * (median([...contender]) / bMedian - 1);
  const positive = [...baseline, ...contender].every((v) => v > 0);
  const shift = positive
    ? hodgesLehmann(contender.map(Math.log), baseline.map(Math.log), alpha)
    : hodgesLehmann(contender, baseline, alpha);
  const pct = positive
    ? (d: number) => 100 * Math.expm1(d)
    : (d: number) => (bMedian === 0 ? NaN : (100 * d) / Math.abs(bMedian));
  const common = {
    diffPct: pct(shift.estimate),
    medianDiffPct,
    p: shift.p,
    method: shift.method,
  };
  if (!shift.possible) {
    const needed = repetitionsNeeded(alpha);
    // Enough repetitions for a verdict without ties: it is the ties (a coarse score, every
    // value the same) that leave no room, and more repetitions of the same would not help.
    if (Math.min(baseline.length, contender.length) >= needed)
      return { ...common, verdict: 'no significant difference' };
    return { ...common, needsRepetitions: needed, verdict: 'too few repetitions' };
  }
  const ci = { low: pct(shift.low), high: pct(shift.high) };
  if (!shift.rejects) return { ...common, ci, verdict: 'no significant difference' };
  // The interval lies on one side of 0 (and the estimate inside it): its side is the verdict.
  const up = shift.low > 0;
  return { ...common, ci, verdict: up === (direction === 'higher') ? 'better' : 'worse' };
}

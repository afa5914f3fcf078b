/**
 * Whether a cell needs another measured repetition (pure): while its first score's
 * coefficient of variation is above the target, up to a count and a time budget. A cell
 * with a failed measured repetition is not extended: a failure is not noise. Suspect
 * repetitions (unhealthy hardware) count toward the maximum but not toward the variation:
 * statistics leave them out too.
 */
import { summarize } from '../analysis/index.js';
import type { AdaptivePolicy, RepetitionResult } from '../core/index.js';

export function wantsAnotherRepetition(
  policy: AdaptivePolicy | undefined,
  measured: readonly RepetitionResult[],
  elapsedMs: number,
): boolean {
  if (!policy || measured.length >= policy.maxRepetitions || elapsedMs >= policy.budgetMs) return false;
  if (measured.some((r) => r.status === 'failed')) return false;
  const first = measured[0]?.scores[0]?.name;
  if (first === undefined) return false;
  const values = measured
    .filter((r) => !r.suspect?.length)
    .map((r) => r.scores.find((s) => s.name === first)?.value ?? NaN);
  const { cov } = summarize(values);
  return !Number.isFinite(cov) || 100 * cov > policy.maxCovPct;
}

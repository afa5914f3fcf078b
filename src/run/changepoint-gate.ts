/**
 * `run --gate changepoint`: the new run joins the history of its tag (or of every passing
 * run of the matrix), each cell and score is searched for change points (E-divisive means,
 * src/analysis/changepoint.ts), and the build fails only on a change point that this run
 * made appear among the newest runs, in the regressing direction, beyond the threshold.
 *
 * "Made appear": the same search over the history without this run did not find it, so a
 * change fails one build — the first at which it can be told from noise — not every build
 * after it. A single run after a step is an outlier to E-divisive (its permutation test
 * cannot tell one odd run from a changed one); it takes two or three runs on the new level,
 * so this gate fires a build or two after the change. The baseline gate (the default) is
 * the one that judges a single run at once.
 */
import {
  E_DIVISIVE_DEFAULTS,
  historyCell,
  historyOf,
  type HistoryChange,
  type HistorySeries,
} from '../analysis/index.js';
import { BenchmarkFailedError, type RepetitionResult, type RunRecord } from '../core/index.js';

/** A change point fails the gate only while it lies among this many newest runs. */
export const NEWEST_RUNS = 5;

export interface ChangepointFinding {
  series: HistorySeries;
  change: HistoryChange;
  /** How much worse, in % of the mean before, in the score's own direction (< 0: better). */
  regressionPct: number;
}

export interface ChangepointVerdict {
  maxRegressionPct: number;
  /** The history searched (this run included), in words. */
  history: string;
  /** Runs in the history, this run included. */
  runs: number;
  /** Every cell and score of this run, with its change points. */
  series: HistorySeries[];
  /** New with this run, among the newest runs, worse beyond the threshold: these fail the build. */
  regressions: ChangepointFinding[];
  /** New with this run, among the newest runs, and better or within the threshold. */
  others: ChangepointFinding[];
  summary: {
    series: number;
    checked: number;
    unchecked: { reason: string; series: number }[];
  };
}

export function changepointGate(
  history: { runs: readonly RunRecord[]; results: readonly RepetitionResult[]; describe: string },
  run: RunRecord,
  results: readonly RepetitionResult[],
  maxRegressionPct: number,
): ChangepointVerdict {
  const earlier = history.runs.filter((r) => r.id !== run.id);
  const before = historyOf(
    earlier,
    history.results.filter((r) => r.runId !== run.id),
  );
  const seen = new Map(before.map((s) => [key(s), s]));
  const now = historyOf(
    [...earlier, run],
    [...history.results.filter((r) => r.runId !== run.id), ...results],
  );
  const mine = now.filter((s) => s.points.at(-1)?.runId === run.id);
  const verdict: ChangepointVerdict = {
    maxRegressionPct,
    history: history.describe,
    runs: earlier.length + 1,
    series: mine,
    regressions: [],
    others: [],
    summary: { series: 0, checked: 0, unchecked: [] },
  };
  const unchecked = new Map<string, number>();
  const countUnchecked = (reason: string, n = 1) => unchecked.set(reason, (unchecked.get(reason) ?? 0) + n);
  // Cells this run has without a passed, measured repetition: no point to judge.
  const measured = new Set(mine.map((s) => s.cell));
  const unmeasured = new Set(results.map(historyCell).filter((c) => !measured.has(c)));
  if (unmeasured.size > 0) countUnchecked('no passed result in this run', unmeasured.size);
  const needed = 2 * E_DIVISIVE_DEFAULTS.minSize;
  for (const s of mine) {
    if (s.points.length < needed) {
      countUnchecked(`fewer than ${needed} runs measured it`);
      continue;
    }
    verdict.summary.checked++;
    const change = s.changePoints.at(-1);
    if (!change || change.index < s.points.length - NEWEST_RUNS) continue;
    const prior = seen.get(key(s));
    // Found before this run (give or take a run: more data can move it by one): not new.
    // Earlier runs keep their places when this one is appended, so indices compare.
    if (prior?.changePoints.some((c) => Math.abs(c.index - change.index) <= 1)) continue;
    const pct = s.direction === 'higher' ? -change.changePct : change.changePct;
    const finding = { series: s, change, regressionPct: pct };
    if (change.verdict === 'worse' && pct > maxRegressionPct) verdict.regressions.push(finding);
    else verdict.others.push(finding);
  }
  verdict.summary.series = mine.length + unmeasured.size;
  verdict.summary.unchecked = [...unchecked].map(([reason, series]) => ({ reason, series }));
  return verdict;
}

/** The error the changepoint gate ends with (exit 1), or undefined where it passes. */
export function changepointFailure(v: ChangepointVerdict): BenchmarkFailedError | undefined {
  if (v.regressions.length === 0) return undefined;
  return new BenchmarkFailedError(
    `${v.regressions.length} change point(s) at the newest runs, worse by more than ${v.maxRegressionPct}%`,
  );
}

function key(s: Pick<HistorySeries, 'cell' | 'score'>): string {
  return JSON.stringify([s.cell, s.score]);
}

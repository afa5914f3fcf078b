/**
 * The regression gate (`run --baseline`, `compare --max-regression`): a significant
 * regression beyond the threshold fails (exit 1). Deciding is here; saying it is the CLI's.
 * Every verdict carries a summary of what was checked and what could not be, and why.
 */
import { compare, historyCell, regressions, type Comparison } from '../analysis/index.js';
import { BenchmarkFailedError, type RepetitionResult } from '../core/index.js';

export type Regression = ReturnType<typeof regressions>[number];

/** What a gate looked at: each comparison of a cell's score with its baseline counts once. */
export interface GateSummary {
  comparisons: number;
  /** Both sides had results and a verdict. */
  checked: number;
  regressions: number;
  improvements: number;
  /** Worse, significantly, but not beyond the threshold. */
  withinThreshold: number;
  /** No significant difference. */
  unchanged: number;
  /** Comparisons without a verdict, by reason, with how many cells each covers. */
  unchecked: { reason: string; comparisons: number; cells: number }[];
}

export interface GateVerdict {
  comparison: Comparison;
  maxRegressionPct: number;
  /** Significant regressions beyond the threshold; none: the gate passes. */
  regressions: Regression[];
  summary: GateSummary;
}

export function judge(comparison: Comparison, maxRegressionPct: number): GateVerdict {
  const found = regressions(comparison, maxRegressionPct);
  return { comparison, maxRegressionPct, regressions: found, summary: summarizeGate(comparison, found) };
}

/**
 * The new run against its baseline (one run, or several pooled under `label`), cell by
 * cell. Baseline cells the new run did not have (another shard's, a cell since removed) are
 * not part of this run's gate.
 */
export function againstBaseline(
  label: string,
  before: readonly RepetitionResult[],
  results: readonly RepetitionResult[],
  maxRegressionPct: number,
  includeSuspect = false,
): GateVerdict {
  const cells = new Set(results.map(historyCell));
  const baseline = before.filter((r) => cells.has(historyCell(r))).map((r) => ({ ...r, runId: label }));
  return judge(
    compare([...baseline, ...results], { by: 'run', baseline: label, includeSuspect }),
    maxRegressionPct,
  );
}

/** The error the gate ends with (exit 1), or undefined where it passes. */
export function gateFailure(v: GateVerdict): BenchmarkFailedError | undefined {
  if (v.regressions.length === 0) return undefined;
  return new BenchmarkFailedError(
    `${v.regressions.length} significant regression(s) beyond ${v.maxRegressionPct}% against ${v.comparison.baseline}`,
  );
}

/** Verdicts that count as checked, and where each is counted (a regression beyond the threshold aside). */
const TALLIES: Readonly<Record<string, 'improvements' | 'withinThreshold' | 'unchanged'>> = {
  better: 'improvements',
  worse: 'withinThreshold',
  'no significant difference': 'unchanged',
};

function summarizeGate(c: Comparison, found: readonly Regression[]): GateSummary {
  const s: GateSummary = {
    comparisons: 0,
    checked: 0,
    regressions: found.length,
    improvements: 0,
    withinThreshold: 0,
    unchanged: 0,
    unchecked: [],
  };
  const regressed = new Set(found.map((r) => r.group));
  const unchecked = new Map<string, { comparisons: number; cells: Set<string> }>();
  const countUnchecked = (reason: string, cell: string) => {
    const u = unchecked.get(reason) ?? { comparisons: 0, cells: new Set<string>() };
    unchecked.set(reason, u);
    u.comparisons++;
    u.cells.add(cell);
  };
  for (const row of c.rows) {
    const base = row.groups.find((g) => g.group === c.baseline);
    for (const g of row.groups) {
      if (g.group === c.baseline) continue;
      s.comparisons++;
      if (!base || base.n === 0) countUnchecked('no baseline cell', row.cell);
      else if (g.n === 0) countUnchecked(`no passed result in ${g.group}`, row.cell);
      else if (regressed.has(g)) s.checked++;
      else {
        const tally = TALLIES[g.verdict ?? ''];
        // A verdict the statistics could not give (too few repetitions, no test): its own reason.
        if (tally === undefined)
          countUnchecked(
            g.needsRepetitions !== undefined
              ? `${g.verdict ?? 'no verdict'} (a verdict needs ${g.needsRepetitions} per group)`
              : (g.verdict ?? 'not tested'),
            row.cell,
          );
        else {
          s.checked++;
          s[tally]++;
        }
      }
    }
  }
  s.unchecked = [...unchecked].map(([reason, u]) => ({
    reason,
    comparisons: u.comparisons,
    cells: u.cells.size,
  }));
  return s;
}

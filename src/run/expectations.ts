/**
 * Per-target reference values (`expect:`), as ReFrame checks a performance variable against
 * its system's reference: each measured repetition's score must lie within
 * [ref + lower·|ref|, ref + upper·|ref|]; one outside fails its cell (exit 1).
 */
import type { Expectation } from '../config/index.js';
import { countsInStatistics } from '../analysis/index.js';
import { BenchmarkFailedError, type MatrixCell, type RepetitionResult } from '../core/index.js';

export interface ExpectationCheck {
  cellId: string;
  repetition: number;
  score: string;
  value: number;
  unit: string;
  expectation: Expectation;
  low?: number;
  high?: number;
  ok: boolean;
}

/** The accepted range; a side without a bound is open. */
export function boundsOf(e: Expectation): { low?: number; high?: number } {
  const scale = Math.abs(e.ref) / 100;
  return {
    ...(e.lowerPct !== undefined ? { low: e.ref + e.lowerPct * scale } : {}),
    ...(e.upperPct !== undefined ? { high: e.ref + e.upperPct * scale } : {}),
  };
}

/**
 * Per score of the cell, the expectation that applies, the most specific first: the entry's
 * for this target, the entry's, the target's.
 */
export function expectationsFor(
  cell: Pick<MatrixCell, 'entry' | 'target'>,
  all: readonly Expectation[],
): Map<string, Expectation> {
  const target = cell.target.name;
  const rank = (e: Expectation) =>
    e.entry === cell.entry
      ? e.target === target
        ? 0
        : e.target === undefined
          ? 1
          : -1
      : e.entry === undefined && e.target === target
        ? 2
        : -1;
  const chosen = new Map<string, Expectation>();
  for (const e of all.filter((x) => rank(x) >= 0).sort((a, b) => rank(a) - rank(b)))
    if (!chosen.has(e.score)) chosen.set(e.score, e);
  return chosen;
}

/** Every measured, passed repetition's expected scores, checked. */
export function checkExpectations(
  cells: readonly MatrixCell[],
  results: readonly RepetitionResult[],
  all: readonly Expectation[],
): ExpectationCheck[] {
  if (all.length === 0) return [];
  const byCell = new Map(cells.map((c) => [c.id, expectationsFor(c, all)]));
  const checks: ExpectationCheck[] = [];
  for (const r of results) {
    const expected = byCell.get(r.cellId);
    // A suspect repetition (unhealthy hardware) says nothing about the benchmark's expected scores.
    if (!expected || !countsInStatistics(r)) continue;
    for (const s of r.scores) {
      const e = expected.get(s.name);
      if (!e) continue;
      const { low, high } = boundsOf(e);
      const ok = (low === undefined || s.value >= low) && (high === undefined || s.value <= high);
      checks.push({
        cellId: r.cellId,
        repetition: r.repetition,
        score: s.name,
        value: s.value,
        unit: s.unit,
        expectation: e,
        ...(low !== undefined ? { low } : {}),
        ...(high !== undefined ? { high } : {}),
        ok,
      });
    }
  }
  return checks;
}

/** One line for a check: `speed 50 op/s outside [95, 110] (ref 100 -5%/+10%)`. */
export function describeCheck(c: ExpectationCheck): string {
  const e = c.expectation;
  const pct = (p: number | undefined) => (p === undefined ? '∞' : `${p > 0 ? '+' : ''}${p}%`);
  const range = `[${c.low ?? '-∞'}, ${c.high ?? '+∞'}]`;
  return `#${c.repetition} ${c.score} ${c.value} ${c.unit} ${c.ok ? 'within' : 'outside'} ${range} (ref ${e.ref} ${pct(e.lowerPct)}/${pct(e.upperPct)})`;
}

/** The error misses end a run with (exit 1), or undefined where every check passed. */
export function expectationsFailure(checks: readonly ExpectationCheck[]): BenchmarkFailedError | undefined {
  const misses = checks.filter((c) => !c.ok);
  if (misses.length === 0) return undefined;
  const cells = new Set(misses.map((m) => m.cellId)).size;
  return new BenchmarkFailedError(
    `${misses.length} score(s) outside their expected range (expect:) in ${cells} cell(s)`,
  );
}

/** Per-cell summary of a run's repetitions: pass counts and the median of each score. */
import { median } from 'simple-statistics';
import type { MatrixCell, RepetitionResult, Score } from '../core/index.js';
import { escapeControl } from './terminal-text.js';

export interface CellSummary {
  cellId: string;
  benchmark: string;
  params: Readonly<Record<string, unknown>>;
  target: string;
  passed: number;
  total: number;
  scores: {
    name: string;
    unit: string;
    direction: Score['direction'];
    median: number;
    n: number;
    /**
     * The collectors-off control repetitions' median, and how far the measured median is
     * from it in % (what sampling costs the benchmark, within its noise).
     */
    control?: { median: number; n: number; diffPct: number };
  }[];
  failures: string[];
  /** Measured repetitions on unhealthy hardware: counted in `passed`, left out of the medians unless included. */
  suspect?: number;
  /** Why each of them is suspect: `#2 GPU 0 power-capped 40 % of the time`. */
  suspectReasons?: string[];
}

export function summarize(
  results: readonly RepetitionResult[],
  cells?: readonly MatrixCell[],
  opts: { includeSuspect?: boolean } = {},
): CellSummary[] {
  const order = new Map(cells?.map((c, i) => [c.id, i]));
  const byCell = new Map<string, RepetitionResult[]>();
  for (const r of results) byCell.set(r.cellId, [...(byCell.get(r.cellId) ?? []), r]);
  const out = [...byCell.values()].map((all): CellSummary => {
    const first = all[0]!;
    // Warmup and control repetitions are recorded but never summarised; their failures still show.
    const rs = all.filter((r) => !r.warmup && !r.control);
    const controls = all.filter((r) => r.control && r.status === 'passed');
    // Suspect repetitions (unhealthy hardware) are counted as run, not in the medians.
    const suspect = rs.filter(isSuspect).length;
    const scored = opts.includeSuspect ? rs : rs.filter((r) => !isSuspect(r));
    const scoreNames = [...new Set(scored.flatMap((r) => r.scores.map((s) => s.name)))];
    return {
      cellId: first.cellId,
      benchmark: first.benchmark,
      params: first.params,
      target: first.target,
      passed: rs.filter((r) => r.status === 'passed').length,
      total: rs.length,
      scores: scoreNames.map((name) => {
        const values = scored.flatMap((r) => r.scores.filter((s) => s.name === name));
        const measured = median(values.map((v) => v.value));
        const control = controls.flatMap((r) => r.scores.filter((s) => s.name === name)).map((s) => s.value);
        const controlMedian = control.length > 0 ? median(control) : undefined;
        return {
          name,
          unit: values[0]!.unit,
          direction: values[0]!.direction,
          median: measured,
          n: values.length,
          ...(controlMedian !== undefined
            ? {
                control: {
                  median: controlMedian,
                  n: control.length,
                  diffPct: controlMedian === 0 ? NaN : 100 * (measured / controlMedian - 1),
                },
              }
            : {}),
        };
      }),
      failures: all
        .filter((r) => r.status === 'failed')
        .map((r) => `#${r.repetition} ${r.failureClass}: ${r.failureReason}`),
      ...(suspect > 0
        ? {
            suspect,
            suspectReasons: rs.filter(isSuspect).map((r) => `#${r.repetition} ${r.suspect!.join('; ')}`),
          }
        : {}),
    };
  });
  return order.size > 0 ? out.sort((a, b) => (order.get(a.cellId) ?? 0) - (order.get(b.cellId) ?? 0)) : out;
}

/** Run on unhealthy hardware (kept here, not imported: the browser bundle takes this file alone). */
function isSuspect(r: RepetitionResult): boolean {
  return (r.suspect?.length ?? 0) > 0;
}

export function formatParams(params: Readonly<Record<string, unknown>>): string {
  // Values are the user's: a newline or an escape sequence must not split or recolour a line.
  return Object.entries(params)
    .map(([k, v]) => `${escapeControl(k)}=${escapeControl(String(v))}`)
    .join(' ');
}

export function formatNumber(n: number): string {
  const abs = Math.abs(n);
  if (abs >= 1000) return n.toFixed(0);
  if (abs >= 100) return n.toFixed(1);
  return n.toPrecision(3).replace(/\.?0+$/, '') || '0';
}

/** Per-cell summary of a run's repetitions: pass counts and the median of each score. */
import { median } from 'simple-statistics';
import type { MatrixCell, RepetitionResult, Score } from '../core/index.js';

export interface CellSummary {
  cellId: string;
  benchmark: string;
  params: Readonly<Record<string, unknown>>;
  target: string;
  passed: number;
  total: number;
  scores: { name: string; unit: string; direction: Score['direction']; median: number; n: number }[];
  failures: string[];
}

export function summarize(
  results: readonly RepetitionResult[],
  cells?: readonly MatrixCell[],
): CellSummary[] {
  const order = new Map(cells?.map((c, i) => [c.id, i]));
  const byCell = new Map<string, RepetitionResult[]>();
  for (const r of results) byCell.set(r.cellId, [...(byCell.get(r.cellId) ?? []), r]);
  const out = [...byCell.values()].map((all): CellSummary => {
    const first = all[0]!;
    // Warmup repetitions are recorded but never summarised; their failures still show.
    const rs = all.filter((r) => !r.warmup);
    const scoreNames = [...new Set(rs.flatMap((r) => r.scores.map((s) => s.name)))];
    return {
      cellId: first.cellId,
      benchmark: first.benchmark,
      params: first.params,
      target: first.target,
      passed: rs.filter((r) => r.status === 'passed').length,
      total: rs.length,
      scores: scoreNames.map((name) => {
        const values = rs.flatMap((r) => r.scores.filter((s) => s.name === name));
        return {
          name,
          unit: values[0]!.unit,
          direction: values[0]!.direction,
          median: median(values.map((v) => v.value)),
          n: values.length,
        };
      }),
      failures: all
        .filter((r) => r.status === 'failed')
        .map((r) => `#${r.repetition} ${r.failureClass}: ${r.failureReason}`),
    };
  });
  return order.size > 0 ? out.sort((a, b) => (order.get(a.cellId) ?? 0) - (order.get(b.cellId) ?? 0)) : out;
}

export function formatParams(params: Readonly<Record<string, unknown>>): string {
  return Object.entries(params)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');
}

export function formatNumber(n: number): string {
  const abs = Math.abs(n);
  if (abs >= 1000) return n.toFixed(0);
  if (abs >= 100) return n.toFixed(1);
  return n.toPrecision(3).replace(/\.?0+$/, '') || '0';
}

/**
 * The summary charts at the top of the report and of a run's page: per benchmark and score,
 * a bar per group from zero to its median, cells one under another, and the comparison's
 * interval as whiskers. Pure; the statistics are `compare()`'s, none are computed here.
 */
import type { CompareRow, Comparison, GroupStats } from '../../analysis/compare.js';
import type { SummaryBar, SummaryCell, SummaryChartData } from './chart-data.js';

/** Cells per chart: more are split over several charts of the same score. */
export const MAX_CELLS_PER_CHART = 12;
/**
 * Cells whose medians differ more than this many times are drawn one chart each: on a shared
 * axis from zero the small ones would be slivers whose whiskers cannot be seen.
 */
export const MAX_SPREAD = 10;

/** What the whiskers are, said under the charts. */
export const WHISKERS_NOTE =
  "whiskers: the comparison's interval of the difference from the baseline, as baseline median × (1 + interval); none on the baseline, nor where the comparison gives none";

export function buildSummaryCharts(c: Comparison): SummaryChartData[] {
  const byScore = new Map<string, CompareRow[]>();
  for (const row of c.rows) {
    const key = JSON.stringify([row.benchmark, row.score, row.unit, row.direction]);
    byScore.set(key, [...(byScore.get(key) ?? []), row]);
  }
  const charts: SummaryChartData[] = [];
  for (const rows of byScore.values()) {
    const first = rows[0]!;
    const cells = rows.map((row) => summaryCell(row, c.baseline));
    for (const part of split(cells))
      charts.push({
        benchmark: first.benchmark,
        score: first.score,
        unit: first.unit,
        direction: first.direction,
        groups: [...c.groups],
        baseline: c.baseline,
        ...(Number.isFinite(first.confidence) ? { confidence: first.confidence } : {}),
        cells: part,
      });
  }
  return charts;
}

function summaryCell(row: CompareRow, baseline: string): SummaryCell {
  const base = row.groups.find((g) => g.group === baseline);
  const label = row.cell.startsWith(row.benchmark) ? row.cell.slice(row.benchmark.length).trim() : row.cell;
  return {
    cell: row.cell,
    label: label || '(default params)',
    bars: row.groups.map((g): SummaryBar => {
      if (g.n === 0) return { group: g.group, n: 0 };
      const interval = intervalOf(g, base);
      return {
        group: g.group,
        n: g.n,
        median: g.median,
        ...(interval ? { low: interval.low, high: interval.high } : {}),
        ...(g.diffPct !== undefined && Number.isFinite(g.diffPct) ? { diffPct: g.diffPct } : {}),
        ...(g.verdict ? { verdict: g.verdict } : {}),
        ...(g.needsRepetitions !== undefined ? { needsRepetitions: g.needsRepetitions } : {}),
      };
    }),
  };
}

/**
 * The whisker of a group in the score's unit: the comparison's interval of the % difference
 * (`ci`) applied to the baseline's median. The one place that reads the comparison's
 * interval, so a change in how src/analysis computes it changes the charts with it.
 */
export function intervalOf(
  g: GroupStats,
  base: GroupStats | undefined,
): { low: number; high: number } | undefined {
  if (!g.ci || !base || base.n === 0 || !Number.isFinite(base.median)) return undefined;
  const { low, high } = g.ci;
  if (!Number.isFinite(low) || !Number.isFinite(high)) return undefined;
  return { low: base.median * (1 + low / 100), high: base.median * (1 + high / 100) };
}

/** Chunks of at most MAX_CELLS_PER_CHART cells; one cell a chart when their scales differ too much. */
function split(cells: SummaryCell[]): SummaryCell[][] {
  const medians = cells.flatMap((c) => c.bars.map((b) => Math.abs(b.median ?? NaN))).filter(Number.isFinite);
  const lo = Math.min(...medians);
  const hi = Math.max(...medians);
  if (medians.length > 0 && (lo === 0 ? hi > 0 : hi / lo > MAX_SPREAD)) return cells.map((c) => [c]);
  const out: SummaryCell[][] = [];
  for (let i = 0; i < cells.length; i += MAX_CELLS_PER_CHART)
    out.push(cells.slice(i, i + MAX_CELLS_PER_CHART));
  return out;
}

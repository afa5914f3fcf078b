/** Box plots per cell and score, one box per group, from a Comparison's measured values. Pure. */
import { quantile } from 'simple-statistics';
import type { Comparison } from '../../analysis/compare.js';
import type { BoxPlotData } from './chart-data.js';

/** Min, Q1, median, Q3, max (simple-statistics quantiles). */
export function fiveNumbers(values: readonly number[]): [number, number, number, number, number] {
  const [min, q1, med, q3, max] = quantile([...values], [0, 0.25, 0.5, 0.75, 1]);
  return [min!, q1!, med!, q3!, max!];
}

/** One chart per row of the comparison; groups without values are left out. */
export function buildBoxPlots(c: Comparison): BoxPlotData[] {
  return c.rows.map((row) => ({
    title: `${row.cell} · ${row.score}`,
    unit: row.unit,
    direction: row.direction,
    groups: row.groups
      .filter((g) => g.values.length > 0)
      .map((g) => ({ group: g.group, values: [...g.values], box: fiveNumbers(g.values) })),
  }));
}

/**
 * The columns and cells of a Comparison as text: one definition for the terminal table,
 * CSV, Markdown and the HTML report (which draws it in the browser, so: no Node imports).
 */
import type { CompareRow, Comparison, GroupStats } from '../analysis/compare.js';
import { formatNumber } from './summary.js';

const HEAD = [
  'cell',
  'score',
  'group',
  'n',
  'median',
  'p95',
  'CoV %',
  'Δ % vs baseline',
  '95% CI',
  'p (Holm)',
];
const COST_HEAD = ['USD/h', 'USD per repetition', 'median per USD/h'];

/** Whether any compared result recorded an hourly price: then the table has cost columns. */
export function isPriced(c: Comparison): boolean {
  return (c.prices ?? []).some((p) => p.hourlyPriceUsd !== undefined);
}

/** The columns: the statistics, the cost columns where prices were recorded, the verdict last. */
export function compareHead(c: Comparison): string[] {
  return [...HEAD, ...(isPriced(c) ? COST_HEAD : []), 'verdict'];
}

/** One table row: a group of one compared score. */
export function compareRowCells(row: CompareRow, g: GroupStats, priced: boolean): string[] {
  const cost = priced
    ? [
        g.hourlyPriceUsd !== undefined ? g.hourlyPriceUsd.toFixed(3) : '',
        g.costPerRepetitionUsd !== undefined ? g.costPerRepetitionUsd.toPrecision(3) : '',
        g.perDollar !== undefined ? formatNumber(g.perDollar) : '',
      ]
    : [];
  return [
    row.cell,
    `${row.score} (${row.unit}, ${row.direction === 'higher' ? 'higher' : 'lower'} is better)`,
    g.group,
    String(g.n),
    g.n > 0 ? formatNumber(g.median) : '',
    g.n > 0 ? formatNumber(g.p95) : '',
    Number.isFinite(g.cov) ? (100 * g.cov).toFixed(2) : '',
    g.diffPct !== undefined && Number.isFinite(g.diffPct) ? signed(g.diffPct) : '',
    g.ci && Number.isFinite(g.ci.low) ? `[${signed(g.ci.low)}, ${signed(g.ci.high)}]` : '',
    g.pAdjusted !== undefined ? g.pAdjusted.toPrecision(3) : '',
    ...cost,
    g.verdict ?? (g.n === 0 ? 'missing' : ''),
  ];
}

export function compareCells(c: Comparison): string[][] {
  const priced = isPriced(c);
  return c.rows.flatMap((row) => row.groups.map((g) => compareRowCells(row, g, priced)));
}

/** Geomean lines and warnings, as printed under the table. */
export function compareFooter(c: Comparison): string[] {
  return [
    ...c.geomean.map(
      (g) =>
        // `?? NaN`: a Comparison read back from JSON has null where it had NaN.
        `geomean ${g.group} vs ${c.baseline}: ×${(g.ratio ?? NaN).toFixed(3)} over ${g.rows} scores${
          g.perDollarRatio != null ? `, ×${g.perDollarRatio.toFixed(3)} per dollar` : ''
        } (> 1 is better)`,
    ),
    ...(isPriced(c)
      ? [
          `hourly price: ${(c.prices ?? [])
            .map(
              (p) =>
                `${p.group} ${p.hourlyPriceUsd !== undefined ? `$${p.hourlyPriceUsd}/h` : 'not recorded'}`,
            )
            .join(', ')}`,
        ]
      : []),
    ...c.warnings.map((w) => `warning: ${w}`),
  ];
}

export function signed(x: number): string {
  return `${x >= 0 ? '+' : ''}${x.toFixed(2)}`;
}

/**
 * The columns and cells of a Comparison as text: one definition for the terminal table,
 * CSV, Markdown and the HTML report (which draws it in the browser, so: no Node imports).
 */
import type { CompareRow, Comparison, Family, GroupStats } from '../analysis/compare.js';
import { energyLines, isEnergyRow, rowsWithEnergy } from './energy-cells.js';
import { formatNumber } from './summary.js';

export { energyLines, isEnergyRow, rowsWithEnergy } from './energy-cells.js';

const HEAD = ['cell', 'score', 'group', 'n', 'median', 'p95', 'CoV %', 'Δ % vs baseline', 'CI', 'p (adj.)'];
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
        g.hourlyPriceUsd != null ? g.hourlyPriceUsd.toFixed(3) : '',
        g.costPerRepetitionUsd != null ? g.costPerRepetitionUsd.toPrecision(3) : '',
        g.perDollar != null ? formatNumber(g.perDollar) : '',
      ]
    : [];
  return [
    row.cell,
    `${row.score} (${row.unit}, ${row.direction === 'higher' ? 'higher' : 'lower'} is better${
      isEnergyRow(row) ? '; energy' : row.role === 'primary' ? '; primary' : ''
    })`,
    g.group,
    String(g.n),
    g.n > 0 ? formatNumber(g.median) : '',
    g.n > 0 ? formatNumber(g.p95) : '',
    isNumber(g.cov) ? (100 * g.cov).toFixed(2) : '',
    isNumber(g.diffPct) ? signed(g.diffPct) : '',
    g.ci && isNumber(g.ci.low) && isNumber(g.ci.high)
      ? `[${signed(g.ci.low)}, ${signed(g.ci.high)}] ${levelPct(row.confidence)}`
      : '',
    g.pAdjusted != null ? g.pAdjusted.toPrecision(3) : '',
    ...cost,
    isEnergyRow(row) && g.n === 0 ? 'n/a' : verdictText(g),
  ];
}

/** The verdict as a reader acts on it: too few repetitions says how many would do. */
export function verdictText(g: GroupStats): string {
  if (g.verdict === 'too few repetitions')
    return `needs ≥ ${g.needsRepetitions ?? '?'} repetitions per group`;
  return g.verdict ?? (g.n === 0 ? 'missing' : '');
}

export function compareCells(c: Comparison): string[][] {
  const priced = isPriced(c);
  return rowsWithEnergy(c).flatMap((row) => row.groups.map((g) => compareRowCells(row, g, priced)));
}

/** Geomean lines, what the verdicts were corrected over, and warnings, as printed under the table. */
export function compareFooter(c: Comparison): string[] {
  return [
    ...c.geomean.map(
      (g) =>
        // `?? NaN`, `!= null`: a Comparison read back from JSON has null where it had NaN.
        `geomean ${g.group} vs ${c.baseline}: ×${(g.ratio ?? NaN).toFixed(3)}${interval(g.ci)} over ${g.rows} scores${
          g.perDollarRatio != null
            ? `, ×${g.perDollarRatio.toFixed(3)}${interval(g.perDollarCi)} per dollar`
            : ''
        } (> 1 is better${g.ci ? '; 95 % bootstrap interval' : ''})`,
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
    ...familyLines(c),
    ...energyLines(c),
    ...c.warnings.map((w) => `warning: ${w}`),
  ];
}

/**
 * What each verdict was tested against: families that read the same (one benchmark's
 * cells, usually) are said once.
 */
export function familyLines(c: Comparison): string[] {
  const families = c.families ?? [];
  if (families.length === 0 || c.rows.every((r) => r.groups.length < 2)) return [];
  const said = new Map<string, Family>();
  for (const f of families) said.set(JSON.stringify([f.benchmark, f.primary, f.secondary]), f);
  return [
    `verdicts: Δ is the Hodges-Lehmann ratio and CI the inverted Mann-Whitney test, so a verdict is better or worse exactly when its CI excludes 0; a family is one group vs ${c.baseline} in one cell:`,
    ...[...said.values()].map(
      (f) =>
        `family ${f.benchmark}: ${f.primary} (primary) at α ${f.alphaPrimary} (${levelPct(1 - f.alphaPrimary)} CI)${
          f.secondary.length > 0 && f.alphaSecondary != null
            ? `; ${f.secondary.join(', ')} at α ${round(f.alphaSecondary)} each (Bonferroni over ${f.secondary.length}, ${levelPct(1 - f.alphaSecondary)} CI)`
            : ''
        }`,
    ),
  ];
}

export function signed(x: number): string {
  return `${x >= 0 ? '+' : ''}${x.toFixed(2)}`;
}

function isNumber(x: number | null | undefined): x is number {
  return x != null && Number.isFinite(x);
}

function interval(ci: { low: number; high: number } | undefined): string {
  return ci && isNumber(ci.low) && isNumber(ci.high) ? ` [${ci.low.toFixed(3)}, ${ci.high.toFixed(3)}]` : '';
}

/** 0.95 → `95%`, 0.975 → `97.5%`, 0.99833… → `99.83%`. */
export function levelPct(confidence: number | undefined): string {
  if (confidence == null) return '';
  return `${round(100 * confidence)}%`;
}

function round(x: number): string {
  return String(Number(x.toPrecision(4)));
}

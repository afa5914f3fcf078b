/** Renders a Comparison as a terminal table, CSV, JSON or Markdown. */
import Table from 'cli-table3';
import type { Comparison } from '../analysis/index.js';
import { formatNumber } from './summary.js';

export type CompareFormat = 'table' | 'csv' | 'json' | 'markdown';
export const COMPARE_FORMATS: readonly CompareFormat[] = ['table', 'csv', 'json', 'markdown'];

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
  'verdict',
];

function cells(c: Comparison): string[][] {
  return c.rows.flatMap((row) =>
    row.groups.map((g) => [
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
      g.verdict ?? (g.n === 0 ? 'missing' : ''),
    ]),
  );
}

function signed(x: number): string {
  return `${x >= 0 ? '+' : ''}${x.toFixed(2)}`;
}

function footer(c: Comparison): string[] {
  return [
    ...c.geomean.map(
      (g) =>
        `geomean ${g.group} vs ${c.baseline}: ×${g.ratio.toFixed(3)} over ${g.rows} scores (> 1 is better)`,
    ),
    ...c.warnings.map((w) => `warning: ${w}`),
  ];
}

export function renderComparison(c: Comparison, format: CompareFormat): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(c, null, 2)}\n`;
    case 'csv':
      return `${[HEAD, ...cells(c)].map((r) => r.map(csvField).join(',')).join('\n')}\n`;
    case 'markdown':
      return `${[
        `| ${HEAD.join(' | ')} |`,
        `|${HEAD.map(() => ' --- ').join('|')}|`,
        ...cells(c).map((r) => `| ${r.map((x) => x.replace(/\|/g, '\\|')).join(' | ')} |`),
      ].join('\n')}\n\n${footer(c)
        .map((l) => `- ${l}`)
        .join('\n')}\n`;
    case 'table': {
      const t = new Table({ head: HEAD, style: { head: [], border: [] } });
      for (const r of cells(c)) t.push(r);
      return `${t.toString()}\n${footer(c).join('\n')}\n`;
    }
  }
}

function csvField(v: string): string {
  return /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** Renders a Comparison as a terminal table, CSV, JSON or Markdown. */
import type { Comparison } from '../analysis/index.js';
import { compareCells as cells, compareFooter as footer, compareHead } from './compare-cells.js';
import { fitTable, type FitOptions } from './fit.js';

export type CompareFormat = 'table' | 'csv' | 'json' | 'markdown';
export const COMPARE_FORMATS: readonly CompareFormat[] = ['table', 'csv', 'json', 'markdown'];

/** `fit`: the width the table format is fitted to (`fit.ts`). */
export function renderComparison(c: Comparison, format: CompareFormat, fit: FitOptions = {}): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(c, null, 2)}\n`;
    default:
      return renderTable(c, format, fit);
  }
}

function renderTable(c: Comparison, format: Exclude<CompareFormat, 'json'>, fit: FitOptions): string {
  const HEAD = compareHead(c);
  switch (format) {
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
      return `${fitTable(HEAD, cells(c), fit)}\n${footer(c).join('\n')}\n`;
    }
  }
}

function csvField(v: string): string {
  return /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

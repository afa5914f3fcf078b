/**
 * How many cells a matrix expands to, counted from the raw document before anything is
 * expanded: each entry's axes (a list is an axis; params left out count once) times its
 * targets. Above MAX_CELLS the matrix is refused with the count and the axes that make it.
 */
import type { Diagnostic } from '../core/index.js';
import { MAX_CELLS } from './limits.js';
import type { YamlSource } from './yaml-source.js';

type Raw = Record<string, unknown>;
const isObj = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface EntrySize {
  index: number;
  name: string;
  /** Axis name → its length, for every param given as a list. */
  axes: [string, number][];
  targets: number;
  cells: number;
}

/** Cells per entry of a raw matrix document; a float, so a product past 2^53 stays ordered. */
export function entrySizes(doc: unknown): EntrySize[] {
  if (!isObj(doc) || !Array.isArray(doc.benchmarks)) return [];
  const allTargets = Array.isArray(doc.targets) ? Math.max(doc.targets.length, 1) : 1;
  return doc.benchmarks.map((entry: unknown, index) => {
    const e = isObj(entry) ? entry : {};
    const params = isObj(e.params) ? e.params : {};
    const axes = Object.entries(params)
      .filter((kv): kv is [string, unknown[]] => Array.isArray(kv[1]))
      .map(([k, v]): [string, number] => [k, v.length]);
    const targets = Array.isArray(e.targets) ? new Set(e.targets.map(String)).size : allTargets;
    const cells = axes.reduce((n, [, len]) => n * len, targets);
    const def = isObj(e.benchmark) ? e.benchmark.name : e.benchmark;
    const name = typeof e.name === 'string' ? e.name : typeof def === 'string' ? def : '';
    return { index, name, axes, targets, cells };
  });
}

export function matrixSizeProblems(source: YamlSource, doc: unknown): Diagnostic[] {
  const sizes = entrySizes(doc);
  const total = sizes.reduce((n, s) => n + s.cells, 0);
  if (total <= MAX_CELLS) return [];
  const largest = [...sizes].sort((a, b) => b.cells - a.cells);
  const shown = largest.slice(0, 3).map(describe).join('; ');
  const more = largest.length > 3 ? `; and ${largest.length - 3} more entries` : '';
  const at = largest[0]!;
  const hasAxes = at.axes.length > 0;
  return [
    source.diagnostic(
      hasAxes ? ['benchmarks', at.index, 'params'] : ['benchmarks', at.index],
      `the matrix expands to ${count(total)} cells, above the limit of ${count(MAX_CELLS)}: ${shown}${more}. Shorten the axes, or split the matrix into several`,
    ),
  ];
}

function describe(s: EntrySize): string {
  const axes = s.axes.map(([k, n]) => `${k} (${count(n)})`);
  const targets = `${s.targets} target${s.targets === 1 ? '' : 's'}`;
  return `${s.name ? `'${s.name}'` : `entry ${s.index + 1}`}: ${[...axes, targets].join(' × ')} = ${count(s.cells)}`;
}

function count(n: number): string {
  return n < 1e15 ? n.toLocaleString('en-US') : n.toExponential(2);
}

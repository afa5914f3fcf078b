/**
 * The headline: the geometric mean over cells and scores of each contender's
 * direction-adjusted ratio of medians, with a seeded percentile bootstrap interval. The
 * repetitions are resampled within each cell and group, the same draw for every score of
 * the cell, because a cell's scores come from the same repetitions and move together
 * (events/s up, latency down); resampling them apart would make the interval too narrow.
 */
import type { Direction } from '../core/index.js';
import { mulberry32, type Interval } from './bootstrap.js';

export interface GeomeanRow {
  cell: string;
  direction: Direction;
  /** Repetition key → value, for the baseline and the contender. */
  baseline: ReadonlyMap<string, number>;
  contender: ReadonlyMap<string, number>;
}

export interface GeomeanOptions {
  /** @default 2000 (fewer for very large comparisons: at most ~5 million values drawn in all) */
  resamples?: number;
  /** @default 0.95 */
  confidence?: number;
  /** @default 0x5eed */
  seed?: number;
}

export const GEOMEAN_RESAMPLES = 2000;
const DRAW_BUDGET = 5_000_000;

export function geomeanWithCi(
  rows: readonly GeomeanRow[],
  opts: GeomeanOptions = {},
): { ratio: number; rows: number; ci?: Interval } {
  const ratios = rows.map((r) => ratioOf(r.direction, [...r.baseline.values()], [...r.contender.values()]));
  const usable = ratios.filter(isUsable);
  if (usable.length === 0) return { ratio: NaN, rows: 0 };
  const ratio = Math.exp(usable.reduce((a, x) => a + Math.log(x), 0) / usable.length);

  // Per cell, the repetitions of each group; per row, its values aligned to them (NaN: the
  // repetition has no such score), so a replicate is index draws and gathers.
  const cellIndex = new Map<string, number>();
  const cells: { base: string[]; cont: string[] }[] = [];
  for (const r of rows) {
    let i = cellIndex.get(r.cell);
    if (i === undefined) {
      i = cells.push({ base: [], cont: [] }) - 1;
      cellIndex.set(r.cell, i);
    }
    const c = cells[i]!;
    c.base = union(c.base, r.baseline.keys());
    c.cont = union(c.cont, r.contender.keys());
  }
  const aligned = rows.map((r) => {
    const c = cells[cellIndex.get(r.cell)!]!;
    return {
      cell: cellIndex.get(r.cell)!,
      direction: r.direction,
      base: Float64Array.from(c.base, (k) => r.baseline.get(k) ?? NaN),
      cont: Float64Array.from(c.cont, (k) => r.contender.get(k) ?? NaN),
    };
  });
  const values = rows.reduce((a, r) => a + r.baseline.size + r.contender.size, 0);
  const resamples = Math.max(
    200,
    Math.min(opts.resamples ?? GEOMEAN_RESAMPLES, Math.floor(DRAW_BUDGET / Math.max(1, values))),
  );
  const rand = mulberry32(opts.seed ?? 0x5eed);
  const draws = cells.map((c) => ({
    base: new Int32Array(c.base.length),
    cont: new Int32Array(c.cont.length),
  }));
  const scratch = new Float64Array(Math.max(1, ...cells.map((c) => Math.max(c.base.length, c.cont.length))));
  const replicates: number[] = [];
  for (let b = 0; b < resamples; b++) {
    for (const d of draws) {
      for (let i = 0; i < d.base.length; i++) d.base[i] = Math.floor(rand() * d.base.length);
      for (let i = 0; i < d.cont.length; i++) d.cont[i] = Math.floor(rand() * d.cont.length);
    }
    let sum = 0;
    let count = 0;
    for (const r of aligned) {
      const d = draws[r.cell]!;
      const [mb, mc] = [gatheredMedian(r.base, d.base, scratch), gatheredMedian(r.cont, d.cont, scratch)];
      const x = r.direction === 'higher' ? mc / mb : mb / mc;
      if (isUsable(x)) {
        sum += Math.log(x);
        count++;
      }
    }
    if (count > 0) replicates.push(Math.exp(sum / count));
  }
  if (replicates.length === 0) return { ratio, rows: usable.length };
  replicates.sort((a, b) => a - b);
  const alpha = 1 - (opts.confidence ?? 0.95);
  const at = (q: number) =>
    replicates[Math.min(replicates.length - 1, Math.max(0, Math.floor(q * replicates.length)))]!;
  return { ratio, rows: usable.length, ci: { low: at(alpha / 2), high: at(1 - alpha / 2) } };
}

/** > 1 is better, whatever the direction. */
function ratioOf(direction: Direction, base: readonly number[], cont: readonly number[]): number {
  if (base.length === 0 || cont.length === 0) return NaN;
  const [b, c] = [medianOf(base), medianOf(cont)];
  return direction === 'higher' ? c / b : b / c;
}

function union(keys: readonly string[], more: Iterable<string>): string[] {
  const all = new Set(keys);
  for (const k of more) all.add(k);
  return all.size === keys.length ? (keys as string[]) : [...all];
}

/** Median of values[idx[i]] (NaN skipped), in `scratch`; NaN when none. */
function gatheredMedian(values: Float64Array, idx: Int32Array, scratch: Float64Array): number {
  let n = 0;
  for (let i = 0; i < idx.length; i++) {
    const v = values[idx[i]!]!;
    if (!Number.isNaN(v)) scratch[n++] = v;
  }
  if (n === 0) return NaN;
  const s = scratch.subarray(0, n).sort();
  return n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

function isUsable(x: number): boolean {
  return Number.isFinite(x) && x > 0;
}

function medianOf(xs: readonly number[]): number {
  const s = Float64Array.from(xs).sort();
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

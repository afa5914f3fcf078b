/**
 * Two-sided Mann-Whitney U test, choosing the method as SciPy's `method='auto'` does: the
 * exact null distribution when a sample has at most 8 values and there are no ties,
 * otherwise the normal approximation with tie and continuity corrections.
 */
import { errorFunction } from 'simple-statistics';

export interface MannWhitney {
  /** U statistic of the first sample. */
  u: number;
  p: number;
  method: 'exact' | 'asymptotic';
}

export function mannWhitney(x: readonly number[], y: readonly number[]): MannWhitney {
  const n1 = x.length;
  const n2 = y.length;
  if (n1 === 0 || n2 === 0) return { u: NaN, p: NaN, method: 'exact' };
  const ranks = rank([...x, ...y]);
  const r1 = ranks.slice(0, n1).reduce((a, b) => a + b, 0);
  const u1 = r1 - (n1 * (n1 + 1)) / 2;
  const u2 = n1 * n2 - u1;
  const ties = tieGroups([...x, ...y]);
  if ((n1 <= 8 || n2 <= 8) && ties.every((t) => t === 1)) {
    return { u: u1, p: Math.min(1, 2 * exactCdf(Math.min(u1, u2), n1, n2)), method: 'exact' };
  }
  const n = n1 + n2;
  const tieTerm = ties.reduce((a, t) => a + (t ** 3 - t), 0) / (n * (n - 1));
  const sigma = Math.sqrt(((n1 * n2) / 12) * (n + 1 - tieTerm));
  if (sigma === 0) return { u: u1, p: 1, method: 'asymptotic' };
  const z = (Math.abs(u1 - (n1 * n2) / 2) - 0.5) / sigma;
  return { u: u1, p: Math.min(1, 2 * (1 - normalCdf(z))), method: 'asymptotic' };
}

function normalCdf(z: number): number {
  return 0.5 * (1 + errorFunction(z / Math.SQRT2));
}

/** Average ranks (1-based), ties sharing the mean of their positions. */
function rank(values: readonly number[]): number[] {
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const ranks = new Array<number>(values.length);
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
    for (let k = i; k <= j; k++) ranks[order[k]![1]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return ranks;
}

function tieGroups(values: readonly number[]): number[] {
  const counts = new Map<number, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts.values()];
}

/** P(U ≤ u) under H0, by counting: c(n1, n2, u) = c(n1-1, n2, u-n2) + c(n1, n2-1, u). */
function exactCdf(u: number, n1: number, n2: number): number {
  const memo = new Map<string, number>();
  const count = (a: number, b: number, k: number): number => {
    if (k < 0) return 0;
    if (a === 0 || b === 0) return k === 0 ? 1 : 0;
    const key = `${a},${b},${k}`;
    let c = memo.get(key);
    if (c === undefined) {
      c = count(a - 1, b, k - b) + count(a, b - 1, k);
      memo.set(key, c);
    }
    return c;
  };
  let total = 0;
  for (let k = 0; k <= Math.floor(u); k++) total += count(n1, n2, k);
  return total / binomial(n1 + n2, n1);
}

function binomial(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return r;
}

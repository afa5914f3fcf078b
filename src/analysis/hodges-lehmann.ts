/**
 * The Hodges-Lehmann estimate of the shift between two samples and its distribution-free
 * confidence interval, obtained by inverting the two-sided Mann-Whitney test of
 * mann-whitney.ts (Bauer 1972, "Constructing confidence sets using rank statistics", JASA
 * 67; Hollander & Wolfe, Nonparametric Statistical Methods, §4.3). The test's p-value
 * returned here is the one dual to the interval, so "the interval excludes 0" and "p < α"
 * are the same statement by construction — a verdict read from either can never
 * contradict the other.
 *
 * With D the n1·n2 differences x_i − y_j sorted ascending and c the largest U the test
 * rejects at α, the interval is [D_(c+1), D_(n1n2−c)]; 0 lies outside it exactly when
 * min(#{D<0}, #{D>0}) + #{D=0} ≤ c. So a difference of zero (the same value in both
 * samples) counts against a difference, in the spirit of asv's `mann_whitney_u`, which
 * breaks ties the least significant way (asv/statistics.py).
 *
 * The method follows SciPy's `mannwhitneyu(method='auto')` but for one case: exact when a
 * sample has at most 8 values, ties or not; the normal approximation (tie and continuity
 * corrected) when both have more. SciPy switches small samples with ties to the normal
 * approximation, which there is poor: 3 against 3 with each group's values equal gives
 * p = 0.047, although no arrangement of 3 against 3 is rarer than 1 in 10. The exact
 * distribution of U stays valid with ties because the statistic here resolves every
 * cross tie against a difference: U after any tie-breaking is at least as extreme, and
 * with ties broken at random U has exactly the untied null distribution. So without ties
 * p is SciPy's; with ties it is SciPy's (both samples above 8, no value in both) or larger.
 * The variance's tie correction counts ties within each sample only: those are the ties
 * every shifted sample keeps, so one σ serves the whole inversion.
 */
import { tieGroups, tieSum, twoSidedP, type TestMethod } from './mann-whitney.js';

export interface ShiftInterval {
  /** Hodges-Lehmann estimate: the median of the differences x_i − y_j. */
  estimate: number;
  /** Confidence limits at 1 − alpha; ±Infinity when no U this small can reject (see `possible`). */
  low: number;
  high: number;
  alpha: number;
  /** Two-sided p of "no shift", dual to the interval: p < alpha ⇔ 0 ∉ [low, high]. */
  p: number;
  /** The interval excludes 0: the test rejects "no shift" at alpha. */
  rejects: boolean;
  /** Whether any data of these sizes could reject at alpha (smallest p < alpha). */
  possible: boolean;
  /** Smallest p the sample sizes allow (every x above every y). */
  minP: number;
  /**
   * The test's critical value c: it rejects when min(#{D<0}, #{D>0}) + #{D=0} ≤ c; the
   * interval is [D_(c+1), D_(n1·n2−c)]. −1: it never rejects.
   */
  critical: number;
  method: TestMethod;
}

export function hodgesLehmann(x: readonly number[], y: readonly number[], alpha = 0.05): ShiftInterval {
  const n1 = x.length;
  const n2 = y.length;
  const mn = n1 * n2;
  const d = new Float64Array(mn);
  let k = 0;
  for (const a of x) for (const b of y) d[k++] = a - b;
  d.sort();
  let below = 0;
  let zero = 0;
  for (const v of d) {
    if (v < 0) below++;
    else if (v === 0) zero++;
  }
  const above = mn - below - zero;
  const method: TestMethod = Math.min(n1, n2) <= 8 ? 'exact' : 'asymptotic';
  const ties = tieSum(tieGroups(x)) + tieSum(tieGroups(y));
  const pOf = (u: number) => twoSidedP(u, n1, n2, method, ties);
  const c = criticalU(mn, pOf, alpha);
  const w = Math.min(below, above) + zero;
  const p = pOf(w);
  const estimate = mn === 0 ? NaN : mn % 2 ? d[(mn - 1) / 2]! : (d[mn / 2 - 1]! + d[mn / 2]!) / 2;
  return {
    estimate,
    low: c >= 0 ? d[c]! : -Infinity,
    high: c >= 0 ? d[mn - 1 - c]! : Infinity,
    alpha,
    p,
    rejects: mn > 0 && w <= c,
    possible: c >= 0,
    minP: mn === 0 ? NaN : pOf(0),
    critical: c,
    method,
  };
}

/**
 * The largest u with p(u) < alpha, or −1: the test rejects exactly when the smaller U is at
 * most this. p is nondecreasing in u and reaches 1 before mn/2, so the answer is below mn/2
 * and the interval's limits never cross.
 */
function criticalU(mn: number, pOf: (u: number) => number, alpha: number): number {
  if (mn === 0 || !(pOf(0) < alpha)) return -1;
  let lo = 0; // p(lo) < alpha
  let hi = Math.floor(mn / 2); // p(hi) ≥ alpha (it is 1)
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (pOf(mid) < alpha) lo = mid;
    else hi = mid;
  }
  return lo;
}

/**
 * Fewest repetitions per group (both groups the same size, no ties) with which the exact
 * test can reject at alpha at all: the smallest n with 2 / C(2n, n) < alpha.
 */
export function repetitionsNeeded(alpha: number): number {
  let n = 1;
  let combinations = 2; // C(2, 1)
  while (2 / combinations >= alpha && n < 1000) {
    // C(2n+2, n+1) = C(2n, n) · (2n+1)(2n+2) / (n+1)²
    combinations = (combinations * (2 * n + 1) * (2 * n + 2)) / ((n + 1) * (n + 1));
    n++;
  }
  return n;
}

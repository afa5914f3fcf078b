/**
 * The rank statistics against values published by others (each with its source), so a
 * change that agrees only with itself cannot pass.
 */
import { describe, expect, it } from 'vitest';
import { hodgesLehmann, mannWhitney, repetitionsNeeded, twoSidedP } from '../../src/analysis/index.js';

describe('Mann-Whitney U: SciPy documentation example', () => {
  // scipy.stats.mannwhitneyu docstring (SciPy 1.7 onwards), ages of males and females:
  // `mannwhitneyu(males, females, method="exact")` → statistic 17.0, pvalue 0.1111111111111111;
  // `method="asymptotic"` → pvalue 0.11134688653314041.
  const males = [19, 22, 16, 29, 24];
  const females = [20, 11, 17, 12];

  it('exact (what method="auto" picks for 5 vs 4 without ties)', () => {
    const r = mannWhitney(males, females);
    expect(r).toMatchObject({ u: 17, method: 'exact' });
    expect(r.p).toBeCloseTo(0.1111111111111111, 14);
  });

  it('asymptotic, with continuity correction', () => {
    // U = 17 of 20: the smaller U is 3.
    expect(twoSidedP(3, 5, 4, 'asymptotic')).toBeCloseTo(0.11134688653314041, 12);
  });
});

describe('critical values of U (two-sided), as in the published Mann-Whitney tables', () => {
  // Reject when U ≤ the value: the two-tailed critical values of U for α = 0.05 and 0.01
  // printed in the usual tables (and recomputed by exact enumeration in Python). Sizes
  // above 8 use the normal approximation (SciPy's rule) and still land on the table.
  const table: [number, number, number, number][] = [
    // n1, n2, α = .05, α = .01
    [4, 4, 0, -1],
    [5, 5, 2, 0],
    [6, 6, 5, 2],
    [7, 7, 8, 4],
    [8, 8, 13, 7],
    [5, 10, 8, 4],
  ];
  const spread = (n: number, offset: number) => Array.from({ length: n }, (_, i) => offset + i);
  it.each(table)('%i vs %i: %i at 0.05, %i at 0.01', (n1, n2, c05, c01) => {
    expect(hodgesLehmann(spread(n1, 0.5), spread(n2, 0), 0.05).critical).toBe(c05);
    expect(hodgesLehmann(spread(n1, 0.5), spread(n2, 0), 0.01).critical).toBe(c01);
  });

  it.each([
    [9, 9, 17],
    [10, 10, 23],
    [20, 20, 127],
  ])('%i vs %i (normal approximation): %i at 0.05', (n1, n2, c05) => {
    expect(hodgesLehmann(spread(n1, 0.5), spread(n2, 0), 0.05)).toMatchObject({
      method: 'asymptotic',
      critical: c05,
    });
  });

  it('3 vs 3 can never reject at 0.05 (smallest p 2/20 = 0.1): 4 per group is the least that can', () => {
    const r = hodgesLehmann([10, 11, 12], [1, 2, 3], 0.05);
    expect(r).toMatchObject({ possible: false, rejects: false, low: -Infinity, high: Infinity });
    expect(r.minP).toBeCloseTo(0.1, 14);
    expect(repetitionsNeeded(0.05)).toBe(4); // 2/C(8,4) = 0.029
    expect(repetitionsNeeded(0.025)).toBe(5); // 2/C(8,4) = 0.029 is not below; 2/C(10,5) = 0.0079 is
    expect(repetitionsNeeded(0.005)).toBe(6); // 2/C(12,6) = 0.0022
  });
});

describe('Hodges-Lehmann estimate and interval: textbook and library examples', () => {
  it('Hollander & Wolfe (1973, p. 69): permeability of the chorioamnion, exact', () => {
    // x: at term, y: 12-26 weeks. SAS PROC NPAR1WAY on these data (its output reproduced in
    // the tests of the R package DescrTab2) gives the location shift (y − x) −0.3050 and the
    // exact two-sided p 0.2544 (Pr ≥ |S − Mean|); its asymptotic Moses limits, rounded
    // differently, are [−0.76, 0.17]. The exact
    // interval is [D_(9), D_(42)] of the 50 ordered differences: C_α = 9 for 5 vs 10 at
    // 95 % (Hollander & Wolfe §4.3; U ≤ 8 rejects, as in the table above).
    const x = [0.8, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46];
    const y = [1.15, 0.88, 0.9, 0.74, 1.21];
    const r = hodgesLehmann(y, x, 0.05);
    expect(r.method).toBe('exact');
    expect(r.estimate).toBeCloseTo(-0.305, 12);
    expect(r.p).toBeCloseTo(0.2544, 4);
    expect(r.critical).toBe(8);
    expect(r.low).toBeCloseTo(-0.76, 12);
    expect(r.high).toBeCloseTo(0.15, 12);
    expect(r.rejects).toBe(false);
  });

  it('Hollander & Wolfe chicken example (ties within a group): SAS publishes 0.5600 and [−0.3700, 1.1830]', () => {
    // PhUSE CAMIS, "Non-parametric point estimation in SAS" (psiaims.github.io/CAMIS):
    // PROC NPAR1WAY HL, location shift A − B 0.5600, asymptotic (Moses) 95 % limits
    // −0.3700 and 1.1830. Ties in B make SciPy's rule, and so ours, the normal approximation.
    const a = [1.83, 0.5, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.3];
    const b = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29];
    const r = hodgesLehmann(a, b, 0.05);
    expect(r.method).toBe('asymptotic');
    expect(r.estimate).toBeCloseTo(0.56, 12);
    expect(r.low).toBeCloseTo(-0.37, 12);
    expect(r.high).toBeCloseTo(1.183, 12);
  });

  it('NAG g07ebc example (50 vs 100, normal approximation): 0.9505 (0.5650, 1.3050), U 2007', () => {
    // NAG Library, nag_rank_ci_2var (g07ebc), example program data and results: location
    // estimator 0.9505, 95 % interval (0.5650, 1.3050), lower Mann-Whitney U 2007.
    const x = [
      -0.582, 0.157, -0.523, -0.769, 2.338, 1.664, -0.981, 1.549, 1.131, -0.46, -0.484, 1.932, 0.306, -0.602,
      -0.979, 0.132, 0.256, -0.094, 1.065, -1.084, -0.969, -0.524, 0.239, 1.512, -0.782, -0.252, -1.163,
      1.376, 1.674, 0.831, 1.478, -1.486, -0.808, -0.429, -2.002, 0.482, -1.584, -0.105, 0.429, 0.568, 0.944,
      2.558, -1.801, 0.242, 0.763, -0.461, -1.497, -1.353, 0.301, 1.941,
    ];
    const y = [
      1.995, 0.007, 0.997, 1.089, 2.004, 0.171, 0.294, 2.448, 0.214, 0.773, 2.96, 0.025, 0.638, 0.937, -0.568,
      -0.711, 0.931, 2.601, 1.121, -0.251, -0.05, 1.341, 2.282, 0.745, 1.633, 0.944, 2.37, 0.293, 0.895,
      0.938, 0.199, 0.812, 1.253, 0.59, 1.522, -0.685, 1.259, 0.571, 1.579, 0.568, 0.381, 0.829, 0.277, 0.656,
      2.497, 1.779, 1.922, -0.174, 2.132, 2.793, 0.102, 1.569, 1.267, 0.49, 0.077, 1.366, 0.056, 0.605, 0.628,
      1.65, 0.104, 2.194, 2.869, -0.171, -0.598, 2.134, 0.917, 0.63, 0.209, 1.328, 0.368, 0.756, 2.645, 1.161,
      0.347, 0.92, 1.256, -0.052, 1.474, 0.51, 1.386, 3.55, 1.392, -0.358, 1.938, 1.727, -0.372, 0.911, 0.499,
      0.066, 1.467, 1.898, 1.145, 0.501, 2.23, 0.212, 0.536, 1.69, 1.086, 0.494,
    ];
    expect(x).toHaveLength(50);
    expect(y).toHaveLength(100);
    const r = hodgesLehmann(y, x, 0.05);
    expect(r.estimate).toBeCloseTo(0.9505, 4);
    expect(r.low).toBeCloseTo(0.565, 4);
    expect(r.high).toBeCloseTo(1.305, 4);
    expect(r.critical).toBe(2007);
    expect(r.rejects).toBe(true);
  });
});

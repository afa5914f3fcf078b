/**
 * E-divisive means (src/analysis/changepoint.ts), pinned against the references:
 * - Apache Otava's `PairDistanceCalculator` (Matteson & James' q̂ over every τ and κ) and its
 *   own test sequence, whose change points its permutation detector finds at [5, 8]
 *   (apache/otava tests/change_point_divisive_test.py);
 * - MongoDB's signal-processing-algorithms `e_divisive` on its "absolute certainty" series
 *   (tests/test_e_divisive.py: a step found at its index; three levels found in the order
 *   [200, 100]);
 * - a nightly-like series (12 runs ~100, then 6 runs ~90, σ 1.5) and a flat one: both
 *   references (Otava seeds 1–3, signal-processing-algorithms) find [12] and [].
 * The reference values were computed with those packages (Python 3.11, numpy 2) into a venv.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bestSplit, eDivisive, historyOf } from '../../src/analysis/index.js';
import { repetitionResult } from '../helpers/results.js';

const OTAVA = [0.3, 2.4, 1.5, -0.9, -0.5, 99.7, 98.3, 99.1, 149.0, 149.7, 149.5, 149.1, 148.8, 150.0];
const NIGHTLY = [
  99.1, 100.9, 101.6, 101.5, 102.7, 99.4, 100.8, 99.5, 97.9, 98.9, 100.2, 98.6, 89.7, 91.7, 90.9, 90.9, 90.5,
  89.7,
];
const FLAT = [
  97.2, 101.5, 97.7, 100.3, 99.8, 100.2, 100.4, 99.5, 101.4, 98.1, 101.2, 97.5, 101.8, 99.2, 100.6, 102.3,
  96.8, 99.5,
];

function split(series: readonly number[], minSize = 2) {
  const n = series.length;
  const d = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) d[i * n + j] = Math.abs(series[i]! - series[j]!);
  return bestSplit(
    d,
    n,
    Int32Array.from({ length: n }, (_, i) => i),
    0,
    n,
    minSize,
  );
}

describe('q̂, the energy statistic of a split (against Otava’s calculator)', () => {
  it('the best split of Otava’s sequence: τ = 5, κ = 14, q̂ = 761.28214…', () => {
    const s = split(OTAVA)!;
    expect(s.tau).toBe(5);
    expect(s.kappa).toBe(14);
    expect(s.qhat).toBeCloseTo(761.2821428571428, 9);
  });

  it('the nightly-like series: τ = 12, κ = 18, q̂ = 65.684848…; the flat one: τ = 3, κ = 7, q̂ = 2.2857…', () => {
    expect(split(NIGHTLY)).toMatchObject({ tau: 12, kappa: 18 });
    expect(split(NIGHTLY)!.qhat).toBeCloseTo(65.68484848484844, 9);
    expect(split(FLAT)).toMatchObject({ tau: 3, kappa: 7 });
    expect(split(FLAT)!.qhat).toBeCloseTo(2.285714285714277, 9);
  });

  it('a segment shorter than two minimum segments has no split', () => {
    expect(split([1, 2, 3], 2)).toBeUndefined();
    expect(split([1, 2, 3, 4], 2)).toMatchObject({ tau: 2, kappa: 4 });
  });
});

describe('eDivisive', () => {
  it('Otava’s sequence: change points at 5 and 8 (its permutation detector’s answer), with the segments’ means', () => {
    const cps = eDivisive(OTAVA);
    expect(cps.map((c) => c.index)).toEqual([5, 8]);
    expect(cps[0]!.before).toMatchObject({ from: 0, to: 5 });
    expect(cps[0]!.before.mean).toBeCloseTo(0.56, 9);
    expect(cps[0]!.after).toMatchObject({ from: 5, to: 8 });
    expect(cps[0]!.after.mean).toBeCloseTo(99.0333333, 6);
    expect(cps[1]!.after.mean).toBeCloseTo(149.35, 9);
    expect(cps[1]!.changePct).toBeCloseTo(100 * (149.35 / 99.0333333333 - 1), 6);
    for (const c of cps) expect(c.p).toBeLessThanOrEqual(0.05);
  });

  it("MongoDB's absolute-certainty series: one step at its index; three levels found 200 first, then 100", () => {
    expect(eDivisive([...Array(50).fill(0), ...Array(50).fill(1)]).map((c) => c.index)).toEqual([50]);
    const three = eDivisive([...Array(100).fill(0), ...Array(100).fill(1), ...Array(100).fill(20)]);
    expect(three.map((c) => c.index)).toEqual([100, 200]);
    expect(three.map((c) => c.rank)).toEqual([1, 0]);
  });

  it('a 10 % drop in a noisy nightly is found where it happened; noise alone has no change point', () => {
    const [drop, ...rest] = eDivisive(NIGHTLY);
    expect(rest).toEqual([]);
    expect(drop!.index).toBe(12);
    // Means 100.0917 (12 runs) → 90.5667 (6 runs), as Otava’s forward_change_percent computes it.
    expect(drop!.changePct).toBeCloseTo(-9.5163, 3);
    // The smallest p 199 permutations can give: none as large as the observed split.
    expect(drop!.p).toBe(1 / 200);
    expect(eDivisive(FLAT)).toEqual([]);
  });

  it('one run after a step is an outlier, not a change; a few more make it one', () => {
    expect(eDivisive([...Array(10).fill(100), 50])).toEqual([]);
    // 10 before, 2 after: only 2 of the C(12,2) = 66 orders put both low runs at an end.
    expect(eDivisive([...Array(10).fill(100), 50, 50]).map((c) => c.index)).toEqual([10]);
    // 6 before, 2 after: 2 of 28 orders, p ≈ 0.08: not yet.
    expect(eDivisive([...Array(6).fill(100), 50, 50])).toEqual([]);
    expect(eDivisive([...Array(6).fill(100), 50, 50, 50]).map((c) => c.index)).toEqual([6]);
  });

  it('seeded: the same series gives the same p-values; a constant or short series has none', () => {
    expect(eDivisive(NIGHTLY, { seed: 7 })).toEqual(eDivisive(NIGHTLY, { seed: 7 }));
    expect(eDivisive(Array(30).fill(5))).toEqual([]);
    expect(eDivisive([1, 2, 3])).toEqual([]);
    expect(eDivisive([])).toEqual([]);
  });

  it('refuses what it cannot judge', () => {
    expect(() => eDivisive([1, 2], { minSize: 1 })).toThrow(RangeError);
    expect(() => eDivisive([1, NaN, 3])).toThrow(RangeError);
  });

  it('property: whatever the series, change points lie inside it, sorted, at least minSize apart, each significant', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { maxLength: 24 }),
        fc.integer({ min: 2, max: 4 }),
        (series, minSize) => {
          const cps = eDivisive(series, { minSize, permutations: 49 });
          let last = 0;
          for (const c of cps) {
            expect(c.index - last).toBeGreaterThanOrEqual(minSize);
            expect(c.p).toBeLessThanOrEqual(0.05);
            last = c.index;
          }
          expect(series.length - last).toBeGreaterThanOrEqual(cps.length ? minSize : 0);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('historyOf: a series per cell and score, one median per run', () => {
  const runs = NIGHTLY.map((_, i) => ({
    id: `run-${String(i).padStart(2, '0')}`,
    startedAt: `2026-12-${String(i + 1).padStart(2, '0')}T02:00:00.000Z`,
  }));
  const results = runs.flatMap((run, i) =>
    [-1, 0, 1].map((noise, k) =>
      repetitionResult({
        runId: run.id,
        repetition: k + 1,
        benchmark: 'toy',
        params: { speed: 1 },
        scores: [
          { name: 'speed', value: NIGHTLY[i]! + noise, unit: 'op/s', direction: 'higher' },
          { name: 'lat', value: 1000 / NIGHTLY[i]!, unit: 'ms', direction: 'lower' },
        ],
      }),
    ),
  );

  it('the drop is worse for a higher-is-better score and for the lower-is-better one that rose', () => {
    // Given newest first, as the stores list runs: the history orders them by start.
    const series = historyOf([...runs].reverse(), results);
    expect(series.map((s) => [s.cell, s.score])).toEqual([
      ['toy speed=1 @here', 'speed'],
      ['toy speed=1 @here', 'lat'],
    ]);
    const [speed, lat] = series;
    expect(speed!.points.map((p) => p.value)).toEqual(NIGHTLY);
    expect(speed!.points[0]).toMatchObject({ runId: 'run-00', n: 3 });
    expect(speed!.changePoints.map((c) => [c.runId, c.verdict])).toEqual([['run-12', 'worse']]);
    expect(speed!.changePoints[0]!.at).toBe('2026-12-13T02:00:00.000Z');
    expect(lat!.changePoints.map((c) => [c.runId, c.verdict])).toEqual([['run-12', 'worse']]);
  });

  it('warmups, controls, failed repetitions and runs not asked for are left out', () => {
    const extra = [
      repetitionResult({
        runId: 'run-00',
        warmup: true,
        benchmark: 'toy',
        params: { speed: 1 },
        scores: [{ name: 'speed', value: 1, unit: 'op/s', direction: 'higher' }],
      }),
      repetitionResult({
        runId: 'run-00',
        control: true,
        benchmark: 'toy',
        params: { speed: 1 },
        scores: [{ name: 'speed', value: 1, unit: 'op/s', direction: 'higher' }],
      }),
      repetitionResult({
        runId: 'run-00',
        status: 'failed',
        benchmark: 'toy',
        params: { speed: 1 },
        scores: [{ name: 'speed', value: 1, unit: 'op/s', direction: 'higher' }],
      }),
      repetitionResult({
        runId: 'elsewhere',
        benchmark: 'toy',
        params: { speed: 1 },
        scores: [{ name: 'speed', value: 1, unit: 'op/s', direction: 'higher' }],
      }),
    ];
    const [speed] = historyOf(runs, [...results, ...extra]);
    expect(speed!.points[0]).toMatchObject({ value: NIGHTLY[0], n: 3 });
    expect(speed!.points).toHaveLength(runs.length);
  });
});

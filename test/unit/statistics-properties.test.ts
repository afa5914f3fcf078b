/**
 * What must hold for any data a user's benchmark produces: the interval excludes 0 exactly
 * when p < α, and the verdict never says otherwise than the interval and p shown with it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compare, hodgesLehmann, mannWhitney } from '../../src/analysis/index.js';
import type { Direction } from '../../src/core/index.js';
import { repetitionResult } from '../helpers/results.js';

/** Continuous values, or a coarse score full of ties (within and across groups). */
const sample = fc.oneof(
  fc.array(fc.double({ min: 0.001, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 14 }),
  fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 14 }),
);
const alpha = fc.constantFrom(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2);

describe('Hodges-Lehmann interval and its test are one procedure', () => {
  it('the interval excludes 0 ⇔ p < α ⇔ the test rejects; the estimate lies inside', () => {
    fc.assert(
      fc.property(sample, sample, alpha, (x, y, a) => {
        const r = hodgesLehmann(x, y, a);
        expect(r.rejects).toBe(r.p < a);
        expect(r.rejects).toBe(r.low > 0 || r.high < 0);
        expect(r.possible).toBe(r.minP < a);
        expect(r.low).toBeLessThanOrEqual(r.estimate);
        expect(r.estimate).toBeLessThanOrEqual(r.high);
      }),
      { numRuns: 500 },
    );
  });

  it('a higher confidence gives a wider interval', () => {
    fc.assert(
      fc.property(sample, sample, (x, y) => {
        const narrow = hodgesLehmann(x, y, 0.1);
        const wide = hodgesLehmann(x, y, 0.01);
        expect(wide.low).toBeLessThanOrEqual(narrow.low);
        expect(wide.high).toBeGreaterThanOrEqual(narrow.high);
      }),
    );
  });

  it('without ties, p is SciPy-auto Mann-Whitney p', () => {
    fc.assert(
      fc.property(sample, sample, (x, y) => {
        fc.pre(new Set([...x, ...y]).size === x.length + y.length);
        expect(hodgesLehmann(x, y).p).toBeCloseTo(mannWhitney(x, y).p, 12);
      }),
      { numRuns: 300 },
    );
  });

  it('3 against 3 never rejects at 0.05, ties or not (the smallest exact p is 0.1)', () => {
    const three = fc.array(
      fc.oneof(fc.integer({ min: 1, max: 3 }), fc.double({ min: 1, max: 2, noNaN: true })),
      {
        minLength: 3,
        maxLength: 3,
      },
    );
    fc.assert(
      fc.property(three, three, (x, y) => {
        const r = hodgesLehmann(x, y, 0.05);
        expect(r.p).toBeGreaterThanOrEqual(0.1);
        expect(r).toMatchObject({ possible: false, rejects: false });
      }),
    );
  });
});

describe('compare: the verdict never contradicts the interval or p shown', () => {
  const scores = fc.array(fc.constantFrom<Direction>('higher', 'lower'), { minLength: 1, maxLength: 4 });

  it('for random groups, scores, directions and levels', () => {
    fc.assert(
      fc.property(scores, sample, sample, alpha, (directions, a, b, level) => {
        const results = (group: string, values: number[], shift: number) =>
          values.map((v, i) =>
            repetitionResult({
              target: group,
              repetition: i + 1,
              scores: directions.map((direction, k) => ({
                name: `s${k}`,
                value: v * (k + shift),
                unit: 'x',
                direction,
              })),
            }),
          );
        const c = compare([...results('a', a, 1), ...results('b', b, 1.5)], { by: 'target', alpha: level });
        for (const row of c.rows) {
          expect(row.alpha).toBeCloseTo(row.role === 'primary' ? level : level / (directions.length - 1), 15);
          const g = row.groups[1]!;
          const significant = g.verdict === 'better' || g.verdict === 'worse';
          const excludes = g.ci !== undefined && (g.ci.low > 0 || g.ci.high < 0);
          expect(significant).toBe(excludes);
          expect(significant).toBe(g.pAdjusted! < c.alpha);
          if (g.verdict === 'better')
            expect(row.direction === 'higher' ? g.ci!.low > 0 : g.ci!.high < 0).toBe(true);
          if (g.verdict === 'worse')
            expect(row.direction === 'higher' ? g.ci!.high < 0 : g.ci!.low > 0).toBe(true);
          if (g.ci) expect(g.ci.low <= g.diffPct! && g.diffPct! <= g.ci.high).toBe(true);
          if (g.verdict === 'too few repetitions') {
            expect(g.ci).toBeUndefined();
            expect(g.needsRepetitions).toBeGreaterThan(Math.min(a.length, b.length));
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('the unit does not matter: scaling every value leaves Δ and the verdict as they were', () => {
    fc.assert(
      fc.property(sample, sample, fc.integer({ min: -20, max: 20 }), (a, b, power) => {
        // Powers of two scale doubles exactly: no tie is made or broken by rounding.
        const k = 2 ** power;
        const rs = (values: number[], scale: number) => [
          ...values.map((v) =>
            repetitionResult({
              target: 'a',
              scores: [{ name: 's', value: v * scale, unit: 'x', direction: 'higher' }],
            }),
          ),
        ];
        const of = (scale: number) =>
          compare([...rs(a, scale), ...rs(b, scale).map((r) => ({ ...r, target: 'b' }))], {
            by: 'target',
            baseline: 'a',
          }).rows[0]!.groups[1]!;
        const [one, scaled] = [of(1), of(k)];
        expect(scaled.verdict).toBe(one.verdict);
        // Relative: a Δ of 2.8e9 % differs in its 16th digit after a scaling (rounding).
        expect(Math.abs(scaled.diffPct! - one.diffPct!)).toBeLessThanOrEqual(
          1e-9 * Math.max(1, Math.abs(one.diffPct!)),
        );
      }),
      { numRuns: 200 },
    );
  });
});

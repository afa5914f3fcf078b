/**
 * Per-target reference values (`expect:` on an entry or a target), as ReFrame's references:
 * validated with clear diagnostics, the most specific one applied, each measured
 * repetition checked against [ref + lower·|ref|, ref + upper·|ref|].
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Expectation } from '../../src/config/index.js';
import {
  boundsOf,
  checkExpectations,
  describeCheck,
  expectationsFailure,
  expectationsFor,
} from '../../src/run/index.js';
import { configProblems, loadMatrixText, planText } from '../helpers/catalog.js';
import { repetitionResult } from '../helpers/results.js';

const MATRIX = `name: m
targets:
  - { name: here, provider: local, expect: { score: latency_avg, ref: 0.5, upper: +20% } }
  - { name: lab, provider: ssh, hosts: [10.0.0.1], expect: [{ score: events_per_second, ref: 1000, lower: -50% }] }
benchmarks:
  - benchmark: sysbench-cpu
    params: { threads: [1, 2] }
    expect:
      - { score: events_per_second, ref: 4200, lower: -5%, upper: +10% }
      - { score: events_per_second, ref: 2000, lower: -10%, upper: null, target: lab }
`;

describe('expect: in the matrix', () => {
  it('is read from entries and targets, bounds in percent; it is no part of a cell’s identity', async () => {
    const m = await loadMatrixText(MATRIX);
    expect(m.expectations).toEqual([
      { score: 'events_per_second', ref: 4200, lowerPct: -5, upperPct: 10, entry: 'sysbench-cpu' },
      { score: 'events_per_second', ref: 2000, lowerPct: -10, entry: 'sysbench-cpu', target: 'lab' },
      { score: 'latency_avg', ref: 0.5, upperPct: 20, target: 'here' },
      { score: 'events_per_second', ref: 1000, lowerPct: -50, target: 'lab' },
    ]);
    expect(m.targets.map((t) => t.options)).not.toContainEqual(
      expect.objectContaining({ expect: expect.anything() }),
    );
    const without = MATRIX.replace(/, expect: .*} }/, ' }')
      .replace(/, expect: \[.*\] }/, ' }')
      .replace(/\n {4}expect:[\s\S]*$/, '\n');
    const ids = (await planText(without)).cells.map((c) => c.id);
    expect((await planText(MATRIX)).cells.map((c) => c.id)).toEqual(ids);
  });

  it('every mistake is one diagnostic with its line, all in one pass', async () => {
    const problems = await configProblems(`name: m
targets:
  - { name: here, provider: local, expect: { score: nope, ref: 1, lower: -5% } }
benchmarks:
  - benchmark: sysbench-cpu
    expect:
      - { score: events_per_second, ref: 4200, lower: -0.05 }
      - { score: latency_avg, ref: 1, upper: -3% }
      - { score: foo, ref: 2, lower: -1% }
      - { score: latency_p95, ref: 3 }
      - { score: latency_avg, ref: 1, upper: 5%, target: there }
      - { score: latency_avg, ref: 1, lower: '-5 percent' }
`);
    expect(problems).toEqual([
      "m.yaml:3:53: expect: no benchmark on target 'here' has a score 'nope' (scores here: events_per_second, latency_avg, latency_p95) (at targets[0].expect.score)",
      "m.yaml:7:55: lower: -0.05 is ambiguous: write it as a percentage of ref, e.g. -5% (ReFrame's -0.05) (at benchmarks[0].expect[0].lower)",
      'm.yaml:8:46: upper: -3% is on the wrong side of ref: upper ≥ 0% (e.g. +10%) (at benchmarks[0].expect[1].upper)',
      "m.yaml:9:18: expect: 'foo' is not a score of this benchmark (scores: events_per_second, latency_avg, latency_p95) (at benchmarks[0].expect[2].score)",
      'm.yaml:10:9: an expectation needs a lower and/or an upper bound (e.g. lower: -5%) (at benchmarks[0].expect[3])',
      "m.yaml:11:58: expect: the entry does not run on target 'there' (its targets: here) (at benchmarks[0].expect[4].target)",
      "m.yaml:12:18: expect: a second expectation for 'latency_avg': give one per score and target (at benchmarks[0].expect[5].score)",
      "m.yaml:12:46: lower: '-5 percent' is not a percentage of ref (e.g. -5%; null: no bound) (at benchmarks[0].expect[5].lower)",
    ]);
  });
});

describe('which expectation applies, and the check', () => {
  const all: Expectation[] = [
    { score: 'eps', ref: 4200, lowerPct: -5, upperPct: 10, entry: 'cpu' },
    { score: 'eps', ref: 2000, lowerPct: -10, entry: 'cpu', target: 'lab' },
    { score: 'eps', ref: 1, lowerPct: -1, target: 'here' },
    { score: 'lat', ref: 0.5, upperPct: 20, target: 'here' },
    { score: 'eps', ref: 9, lowerPct: -1, entry: 'other' },
  ];
  const cell = (target: string) => ({
    id: `c-${target}`,
    entry: 'cpu',
    target: { name: target, provider: 'local', options: {} },
  });

  it("the most specific first: the entry's for this target, the entry's, the target's", () => {
    expect([...expectationsFor(cell('lab'), all)]).toEqual([['eps', all[1]]]);
    expect([...expectationsFor(cell('here'), all)]).toEqual([
      ['eps', all[0]],
      ['lat', all[3]],
    ]);
  });

  it('bounds: ref ± the percentages of |ref| (a negative ref too); an absent side is open', () => {
    expect(boundsOf(all[0]!)).toEqual({ low: 3990, high: 4620 });
    expect(boundsOf(all[1]!)).toEqual({ low: 1800 });
    expect(boundsOf({ score: 's', ref: -200, lowerPct: -10, upperPct: 5 })).toEqual({
      low: -220,
      high: -190,
    });
  });

  it('each measured repetition is checked; warmups, controls and failures are not; a miss fails (exit 1)', () => {
    const r = (repetition: number, eps: number, over = {}) =>
      repetitionResult({
        cellId: 'c-here',
        repetition,
        scores: [
          { name: 'eps', value: eps, unit: 'events/s', direction: 'higher' },
          { name: 'lat', value: 0.55, unit: 'ms', direction: 'lower' },
        ],
        ...over,
      });
    const results = [
      r(1, 4000),
      r(2, 3900),
      r(3, 1, { warmup: true }),
      r(4, 1, { control: true }),
      r(5, 1, { status: 'failed' }),
    ];
    const checks = checkExpectations([cell('here')] as never, results, all);
    expect(checks.map((c) => [c.repetition, c.score, c.ok])).toEqual([
      [1, 'eps', true],
      [1, 'lat', true],
      [2, 'eps', false],
      [2, 'lat', true],
    ]);
    expect(describeCheck(checks[2]!)).toBe('#2 eps 3900 events/s outside [3990, 4620] (ref 4200 -5%/+10%)');
    expect(expectationsFailure(checks)?.message).toBe(
      '1 score(s) outside their expected range (expect:) in 1 cell(s)',
    );
    expect(expectationsFailure(checks.filter((c) => c.ok))).toBeUndefined();
  });

  it('property: a value passes exactly when it lies within the bounds', () => {
    fc.assert(
      fc.property(
        fc.double({ min: -1e6, max: 1e6, noNaN: true }),
        fc.option(fc.double({ min: -100, max: 0, noNaN: true })),
        fc.option(fc.double({ min: 0, max: 100, noNaN: true })),
        fc.double({ min: -2e6, max: 2e6, noNaN: true }),
        (ref, lower, upper, value) => {
          const e: Expectation = {
            score: 's',
            ref,
            ...(lower !== null ? { lowerPct: lower } : {}),
            ...(upper !== null ? { upperPct: upper } : {}),
            target: 'here',
          };
          const [check] = checkExpectations(
            [cell('here')] as never,
            [
              repetitionResult({
                cellId: 'c-here',
                scores: [{ name: 's', value, unit: 'u', direction: 'higher' }],
              }),
            ],
            [e],
          );
          const { low, high } = boundsOf(e);
          expect(check!.ok).toBe(
            (low === undefined || value >= low) && (high === undefined || value <= high),
          );
          if (low !== undefined && high !== undefined) expect(low).toBeLessThanOrEqual(high);
        },
      ),
    );
  });
});

/** How a run ends for CI (src/run): the regression gate against a baseline, failed repetitions. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BenchmarkFailedError,
  InfrastructureError,
  type RepetitionResult,
  type RunRecord,
} from '../../src/core/index.js';
import { againstBaseline, gateFailure, judge, repetitionsFailure } from '../../src/run/index.js';
import { parsePercent } from '../../src/cli/gate.js';
import { repetitionResult } from '../helpers/results.js';

const reps = [1, 2, 3, 4, 5];
const result = (runId: string, threads: number, repetition: number, value: number): RepetitionResult =>
  repetitionResult({
    runId,
    cellId: `cell-${threads}`,
    repetition,
    benchmark: 'sysbench-cpu',
    params: { threads },
    scores: [{ name: 'events_per_second', value, unit: 'events/s', direction: 'higher' }],
    startedAt: `2026-01-01T00:00:${String(threads * 5 + repetition).padStart(2, '0')}.000Z`,
  });

// Two cells: threads=1 unchanged, threads=4 half as fast as in the baseline.
const before = [1, 4].flatMap((t) => reps.map((r) => result('base', t, r, 1000 * t + r)));
const after = [
  ...reps.map((r) => result('new', 1, r, 1000 + r)),
  ...reps.map((r) => result('new', 4, r, 2000 + r)),
];

describe('the gate against a baseline run', () => {
  it('a significant regression beyond the threshold fails (exit 1), naming the baseline', () => {
    const v = againstBaseline('base', before, after, 5);
    expect(v.comparison.baseline).toBe('base');
    expect(v.regressions.map((r) => [r.row.cell, Math.round(r.pct)])).toEqual([
      ['sysbench-cpu threads=4 @here', 50],
    ]);
    const failure = gateFailure(v);
    expect(failure).toBeInstanceOf(BenchmarkFailedError);
    expect(failure?.message).toBe('1 significant regression(s) beyond 5% against base');
  });

  it('a regression within the threshold passes', () => {
    expect(gateFailure(againstBaseline('base', before, after, 60))).toBeUndefined();
  });

  it('an improvement never fails the gate', () => {
    const faster = [1, 4].flatMap((t) => reps.map((r) => result('new', t, r, 3000 * t + r)));
    expect(againstBaseline('base', before, faster, 0).regressions).toEqual([]);
  });

  it('for any threshold: fails exactly when a regression is beyond it, and a higher one never adds any', () => {
    const comparison = againstBaseline('base', before, after, 0).comparison;
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 500, noNaN: true }),
        fc.double({ min: 0, max: 500, noNaN: true }),
        (a, b) => {
          const [low, high] = a <= b ? [a, b] : [b, a];
          const v = judge(comparison, low);
          expect(gateFailure(v) !== undefined).toBe(v.regressions.some((r) => r.pct > low));
          expect(judge(comparison, high).regressions.length).toBeLessThanOrEqual(v.regressions.length);
        },
      ),
    );
  });
});

describe('parsePercent (--max-regression)', () => {
  it.each([
    ['5%', 5],
    ['5', 5],
    [' 2.5 % ', 2.5],
    ['0', 0],
  ])('%j → %d', (text, pct) => expect(parsePercent(text)).toBe(pct));

  it('anything else a user types is an InputError naming the flag, never a number', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        let pct: number | undefined;
        try {
          pct = parsePercent(text);
        } catch (err) {
          expect((err as Error).message).toMatch(/^--max-regression '/);
          return;
        }
        expect(Number.isFinite(pct) && pct >= 0).toBe(true);
      }),
    );
  });
});

describe('failed repetitions', () => {
  const run = { id: 'r-1' } as RunRecord;

  it('all passed: no error', () => {
    expect(repetitionsFailure({ run, results: [repetitionResult(), repetitionResult()] })).toBeUndefined();
  });

  it("a benchmark's failure is exit 1", () => {
    const err = repetitionsFailure({
      run,
      results: [repetitionResult(), repetitionResult({ status: 'failed', failureClass: 'TIMEOUT' })],
    });
    expect(err).toBeInstanceOf(BenchmarkFailedError);
    expect(err?.message).toBe('1 of 2 repetitions failed');
    expect(err?.meta).toEqual({ runId: 'r-1' });
  });

  it("one failure of the infrastructure makes it the infrastructure's (exit 3)", () => {
    const err = repetitionsFailure({
      run,
      results: [
        repetitionResult({ status: 'failed', failureClass: 'BENCHMARK_FAILED' }),
        repetitionResult({ status: 'failed', failureClass: 'INFRA' }),
      ],
    });
    expect(err).toBeInstanceOf(InfrastructureError);
    expect(err?.message).toBe('2 repetitions failed, some because of the infrastructure');
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { orderWork } from '../../src/schedule/order.js';

describe('orderWork: the order repetitions are handed out in', () => {
  it('blocked: one slice per cell, its repetitions back to back, in plan order', () => {
    expect(orderWork([3, 2], 'blocked', 'r')).toEqual([
      { cell: 0, from: 1, to: 3 },
      { cell: 1, from: 1, to: 2 },
    ]);
  });

  it('interleaved: round r holds repetition r of every cell, each round in its own order', () => {
    const out = orderWork([4, 4, 4], 'interleaved', 'run-1');
    for (let r = 1; r <= 4; r++)
      expect(
        out
          .slice((r - 1) * 3, r * 3)
          .map((s) => [s.from, s.to])
          .every(([f, t]) => f === r && t === r),
      ).toBe(true);
    const rounds = [0, 1, 2, 3].map((r) =>
      out
        .slice(r * 3, r * 3 + 3)
        .map((s) => s.cell)
        .join(''),
    );
    // Not the same order every round (a fixed rotation would pair each cell with one neighbour).
    expect(new Set(rounds).size).toBeGreaterThan(1);
  });

  it('the same seed gives the same order; another seed another one', () => {
    const a = orderWork([5, 5, 5, 5], 'random', 'run-a');
    expect(orderWork([5, 5, 5, 5], 'random', 'run-a')).toEqual(a);
    expect(orderWork([5, 5, 5, 5], 'random', 'run-b')).not.toEqual(a);
  });

  it('every order hands out every repetition exactly once, each cell in sequence (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 8 }),
        fc.constantFrom('blocked' as const, 'interleaved' as const, 'random' as const),
        fc.string(),
        (planned, order, seed) => {
          const out = orderWork(planned, order, seed);
          const seen = planned.map(() => [] as number[]);
          for (const s of out) for (let r = s.from; r <= s.to; r++) seen[s.cell]!.push(r);
          planned.forEach((n, cell) =>
            expect(seen[cell]).toEqual(Array.from({ length: n }, (_, i) => i + 1)),
          );
        },
      ),
    );
  });

  it('interleaved with uneven cells: shorter cells drop out of the later rounds', () => {
    const out = orderWork([1, 3], 'interleaved', 's');
    expect(out.filter((s) => s.cell === 0)).toEqual([{ cell: 0, from: 1, to: 1 }]);
    expect(out.slice(-2)).toEqual([
      { cell: 1, from: 2, to: 2 },
      { cell: 1, from: 3, to: 3 },
    ]);
  });
});

/**
 * The baseline gate's summary (src/run/gate.ts, said by src/cli/gate.ts): every comparison
 * is checked or unchecked with a reason; a pooled baseline is one group; the new run's
 * gate covers its own cells only.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RepetitionResult } from '../../src/core/index.js';
import { againstBaseline, gateFailure } from '../../src/run/index.js';
import { gateLines, runGate, summaryLine } from '../../src/cli/gate.js';
import { repetitionResult } from '../helpers/results.js';

const reps = [1, 2, 3, 4, 5];
const result = (
  runId: string,
  threads: number,
  repetition: number,
  value: number,
  over: Partial<RepetitionResult> = {},
) =>
  repetitionResult({
    runId,
    cellId: `cell-${threads}`,
    repetition,
    benchmark: 'toy',
    params: { threads },
    scores: [
      { name: 'speed', value, unit: 'op/s', direction: 'higher' },
      { name: 'lat', value: 1000 / value, unit: 'ms', direction: 'lower' },
    ],
    startedAt: `2026-01-01T00:00:${String(threads * 5 + repetition).padStart(2, '0')}.000Z`,
    ...over,
  });

describe('the gate summary', () => {
  // threads=1 unchanged; threads=2 half as fast; threads=3 new (no baseline cell); threads=4
  // only in the baseline (another shard's: not part of this run's gate); threads=5 failed here.
  const before = [1, 2, 4, 5].flatMap((t) => reps.map((r) => result('base', t, r, 1000 * t + r)));
  const after = [
    ...reps.map((r) => result('new', 1, r, 1000 + r)),
    ...reps.map((r) => result('new', 2, r, 1000 + r)),
    ...reps.map((r) => result('new', 3, r, 3000 + r)),
    ...reps.map((r) => result('new', 5, r, 0, { status: 'failed', scores: [] })),
  ];

  it('counts each comparison once: checked (how it came out) or unchecked (why)', () => {
    const v = againstBaseline('base', before, after, 5);
    expect(v.summary).toEqual({
      comparisons: 8,
      checked: 4,
      regressions: 2,
      improvements: 0,
      withinThreshold: 0,
      unchanged: 2,
      unchecked: [
        { reason: 'no baseline cell', comparisons: 2, cells: 1 },
        { reason: 'no passed result in new', comparisons: 2, cells: 1 },
      ],
    });
    expect(v.comparison.rows.map((r) => r.cell)).not.toContain('toy threads=4 @here');
    expect(summaryLine(v.summary, 5)).toBe(
      '8 comparisons: 4 checked (2 regressions, 0 improvements, 2 no significant difference, 0 worse within 5%); 4 unchecked — 1 cell (2 comparisons): no baseline cell; 1 cell (2 comparisons): no passed result in new',
    );
  });

  it('a gate that passes still says what it checked', () => {
    const v = againstBaseline('base', before, after.slice(0, 5), 5);
    expect(gateFailure(v)).toBeUndefined();
    expect(gateLines(v)).toEqual([
      'gate: 2 comparisons: 2 checked (0 regressions, 0 improvements, 2 no significant difference, 0 worse within 5%); 0 unchecked',
    ]);
  });

  it('pooled baseline runs are one group under their label', () => {
    const second = [1, 2].flatMap((t) => reps.map((r) => result('base-2', t, r, 1000 * t + r + 0.5)));
    const v = againstBaseline("last 2 'nightly' runs", [...before, ...second], after.slice(0, 10), 5);
    expect(v.comparison.baseline).toBe("last 2 'nightly' runs");
    const row = v.comparison.rows.find((r) => r.cell === 'toy threads=2 @here' && r.score === 'speed')!;
    expect(row.groups.map((g) => [g.group, g.n])).toEqual([
      ["last 2 'nightly' runs", 10],
      ['new', 5],
    ]);
    expect(v.regressions.map((r) => [r.row.cell, r.row.score])).toEqual([
      ['toy threads=2 @here', 'speed'],
      ['toy threads=2 @here', 'lat'],
    ]);
  });

  it('property: checked + unchecked = comparisons, and checked splits exactly into its outcomes', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0.2, max: 5, noNaN: true }), { minLength: 1, maxLength: 4 }),
        fc.double({ min: 0, max: 80 }),
        (factors, maxPct) => {
          const now = factors.flatMap((f, t) =>
            reps.map((r) => result('new', t + 1, r, (1000 * (t + 1) + r) * f)),
          );
          const s = againstBaseline('base', before, now, maxPct).summary;
          const unchecked = s.unchecked.reduce((a, u) => a + u.comparisons, 0);
          expect(s.checked + unchecked).toBe(s.comparisons);
          expect(s.regressions + s.improvements + s.unchanged + s.withinThreshold).toBe(s.checked);
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('runGate: what run says and adds to its JUnit file', () => {
  const run = { id: 'new', name: 'nightly' };

  it('no baseline yet: the note, a passing gate testcase carrying it, no failure', () => {
    const said = runGate({ run, gateNotes: ['no baseline yet: …'] }, 'baseline', 5);
    expect(said.lines).toEqual(['gate: new (baseline gate)', 'gate: no baseline yet: …']);
    expect(said.failure).toBeUndefined();
    expect(said.cases).toEqual([
      {
        classname: 'nightly.gate',
        name: 'gate (baseline)',
        timeSeconds: 0,
        out: 'gate: new (baseline gate)\ngate: no baseline yet: …',
      },
    ]);
  });

  it('a regression: the head names what it was gated against; the gate testcase fails with the summary', () => {
    const before = reps.map((r) => result('base', 1, r, 1000 + r));
    const gate = againstBaseline(
      'base',
      before,
      reps.map((r) => result('new', 1, r, 500 + r)),
      5,
    );
    const said = runGate({ run, gate, against: 'base, the newest passing run of ...' }, 'baseline', 5);
    expect(said.lines.slice(0, 2)).toEqual([
      'gate: new against base, max regression 5%',
      'gate: baseline: base, the newest passing run of ...',
    ]);
    expect(said.lines[2]).toMatch(
      /^regression: toy threads=1 @here speed new vs base: 49\.\d\d% worse \(> 5%\), p \(adj\.\) /,
    );
    expect(said.failure?.message).toBe('2 significant regression(s) beyond 5% against base');
    expect(said.cases.at(-1)!.failure).toMatchObject({ type: 'GATE' });
  });
});

/**
 * Suspect repetitions (run on unhealthy hardware) are kept and shown but left out of the
 * statistics — compare, the gate, per-cell summaries, history — unless `includeSuspect`.
 */
import { describe, expect, it } from 'vitest';
import { compare, historyOf } from '../../src/analysis/index.js';
import type { RepetitionResult } from '../../src/core/index.js';
import { resultsTable, summarize } from '../../src/report/index.js';
import { againstBaseline } from '../../src/run/gate.js';
import { repetitionResult } from '../helpers/results.js';

const WHY = ['GPU 0 power-capped 38 % of the time'];

/** Five repetitions on `target` scoring `score(i)`; those in `suspect` ran on unhealthy hardware. */
function reps(
  target: string,
  score: (i: number) => number,
  suspect: readonly number[] = [],
): RepetitionResult[] {
  return [1, 2, 3, 4, 5].map((i) =>
    repetitionResult({
      runId: 'run-1',
      target,
      cellId: `c-${target}`,
      repetition: i,
      startedAt: `2026-12-05T00:00:0${i}.000Z`,
      scores: [{ name: 'ops', value: score(i), unit: 'ops/s', direction: 'higher' }],
      ...(suspect.includes(i) ? { suspect: WHY } : {}),
    }),
  );
}

// b's third repetition ran throttled: a tenth of its speed.
const results = [...reps('a', (i) => 100 + i), ...reps('b', (i) => (i === 3 ? 10 : 100 + i), [3])];

describe('suspect repetitions in statistics', () => {
  it('compare leaves them out and says so; includeSuspect puts them back', () => {
    const without = compare(results, { by: 'target' });
    const b = without.rows[0]!.groups.find((g) => g.group === 'b')!;
    expect(b.n).toBe(4);
    expect(b.values).not.toContain(10);
    expect(without.warnings).toContainEqual(
      expect.stringMatching(/^1 suspect repetition left out .*--include-suspect/),
    );

    const withThem = compare(results, { by: 'target', includeSuspect: true });
    const b2 = withThem.rows[0]!.groups.find((g) => g.group === 'b')!;
    expect(b2.n).toBe(5);
    expect(b2.values).toContain(10);
    expect(withThem.warnings).toContainEqual(
      expect.stringMatching(/^1 suspect repetition counted \(--include-suspect\)/),
    );
  });

  it('a run without suspect repetitions has nothing to say about them', () => {
    expect(
      compare(
        reps('a', (i) => i),
        { by: 'target' },
      ).warnings.join('\n'),
    ).not.toMatch(/suspect/);
  });

  it('the gate does not fail a run for a regression only a suspect repetition shows', () => {
    const before = reps('a', (i) => 100 + i).map((r) => ({ ...r, runId: 'old' }));
    // Every repetition of the new run ran throttled and slow.
    const after = reps('a', (i) => 50 + i, [1, 2, 3, 4, 5]);
    expect(againstBaseline('old', before, after, 5).regressions).toHaveLength(0);
    expect(againstBaseline('old', before, after, 5, true).regressions).toHaveLength(1);
  });

  it('per-cell medians leave them out and count them; the results table marks them with the reason', () => {
    const [, b] = summarize(results);
    expect(b).toMatchObject({ cellId: 'c-b', passed: 5, total: 5, suspect: 1 });
    expect(b!.scores[0]).toMatchObject({ n: 4, median: 103 });
    expect(summarize(results, undefined, { includeSuspect: true })[1]!.scores[0]).toMatchObject({ n: 5 });
    const table = resultsTable(
      results.filter((r) => r.target === 'b'),
      200,
    );
    expect(table).toContain('passed SUSPECT');
    expect(table).toContain('suspect: GPU 0 power-capped 38 % of the time');
  });

  it("history's run medians leave them out", () => {
    const runs = [{ id: 'run-1', startedAt: '2026-12-05T00:00:00.000Z' }];
    const series = historyOf(
      runs,
      results.filter((r) => r.target === 'b'),
    );
    expect(series[0]!.points[0]).toMatchObject({ n: 4 });
  });
});

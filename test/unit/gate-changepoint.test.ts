/**
 * `run --gate changepoint` (src/run/changepoint-gate.ts): a build fails only on a change
 * point this run made appear among the newest runs, in the regressing direction, beyond
 * the threshold — once, not on every build after it.
 */
import { describe, expect, it } from 'vitest';
import type { RepetitionResult, RunRecord } from '../../src/core/index.js';
import { changepointFailure, changepointGate, gateRun, type StoredRuns } from '../../src/run/index.js';
import { changepointLines } from '../../src/cli/gate.js';
import { repetitionResult } from '../helpers/results.js';

function run(i: number): RunRecord {
  return {
    id: `run-${String(i).padStart(2, '0')}`,
    name: 'nightly',
    matrixPath: 'm.yaml',
    status: 'passed',
    startedAt: `2026-12-${String(i + 1).padStart(2, '0')}T02:00:00.000Z`,
    cells: 2,
    repetitions: 6,
    passed: 6,
    failed: 0,
    tags: ['nightly'],
  };
}

/** Three repetitions of two cells; `speed` per run as given, the other cell steady. */
function results(r: RunRecord, speed: number, lat = 10): RepetitionResult[] {
  return [0, 1, 2].flatMap((k) => [
    repetitionResult({
      runId: r.id,
      cellId: 'fast',
      repetition: k + 1,
      benchmark: 'toy',
      params: { n: 1 },
      scores: [{ name: 'speed', value: speed + k * 0.1, unit: 'op/s', direction: 'higher' }],
    }),
    repetitionResult({
      runId: r.id,
      cellId: 'steady',
      repetition: k + 1,
      benchmark: 'toy',
      params: { n: 2 },
      scores: [{ name: 'lat', value: lat + k * 0.01, unit: 'ms', direction: 'lower' }],
    }),
  ]);
}

/** The gate of run `i` over runs 0..i-1, whose speeds are `speeds`. */
function gateAt(speeds: number[], maxPct = 5, lat: (i: number) => number = () => 10) {
  const runs = speeds.map((_, i) => run(i));
  const all = runs.flatMap((r, i) => results(r, speeds[i]!, lat(i)));
  const newest = runs.at(-1)!;
  return changepointGate(
    {
      runs: runs.slice(0, -1),
      results: all.filter((r) => r.runId !== newest.id),
      describe: 'the nightly runs',
    },
    newest,
    all.filter((r) => r.runId === newest.id),
    maxPct,
  );
}

// A long enough history that two runs on a new level are a change (p ≈ 2 / C(14, 2)).
const steady = Array<number>(12).fill(100);

describe('the changepoint gate', () => {
  it('fails once: on the build at which a drop can first be told from noise, not before, not after', () => {
    // 12 runs at 100, then 50: one run after is an outlier, two make the change.
    const first = gateAt([...steady, 50]);
    expect(first.regressions).toEqual([]);
    expect(changepointFailure(first)).toBeUndefined();

    const second = gateAt([...steady, 50, 50]);
    expect(second.regressions.map((f) => [f.series.cell, f.series.score, f.change.runId])).toEqual([
      ['toy n=1 @here', 'speed', 'run-12'],
    ]);
    expect(second.regressions[0]!.regressionPct).toBeCloseTo(50, 0);
    expect(changepointFailure(second)?.message).toBe(
      '1 change point(s) at the newest runs, worse by more than 5%',
    );

    // The next build sees the same change point: found before, it no longer fails.
    const third = gateAt([...steady, 50, 50, 50]);
    expect(third.series.find((s) => s.score === 'speed')!.changePoints.map((c) => c.runId)).toEqual([
      'run-12',
    ]);
    expect(third.regressions).toEqual([]);
  });

  it('an improvement, or a regression within the threshold, is said but passes', () => {
    const better = gateAt([...steady, 150, 150]);
    expect(better.regressions).toEqual([]);
    expect(better.others.map((f) => f.change.verdict)).toEqual(['better']);
    const small = gateAt([...steady, 97, 97], 5);
    expect(small.regressions).toEqual([]);
    expect(small.others.map((f) => [f.change.verdict, Math.round(f.regressionPct)])).toEqual([['worse', 3]]);
    expect(gateAt([...steady, 97, 97], 2).regressions).toHaveLength(1);
  });

  it("a lower-is-better score's rise is the regression", () => {
    const v = gateAt([...steady, 100, 100], 5, (i) => (i >= 12 ? 20 : 10));
    expect(v.regressions.map((f) => [f.series.score, f.change.verdict, Math.round(f.regressionPct)])).toEqual(
      [['lat', 'worse', 100]],
    );
  });

  it('a change point far back is history, not this build: it passes', () => {
    const v = gateAt([100, 100, 100, 50, 50, 50, 50, 50, 50, 50, 50]);
    expect(v.series.find((s) => s.score === 'speed')!.changePoints.map((c) => c.index)).toEqual([3]);
    expect(v.regressions).toEqual([]);
  });

  it('the summary: series checked, those with too short a history unchecked, and why', () => {
    const short = gateAt([100, 100, 50]);
    expect(short.summary).toEqual({
      series: 2,
      checked: 0,
      unchecked: [{ reason: 'fewer than 4 runs measured it', series: 2 }],
    });
    const v = gateAt([...steady, 50, 50]);
    expect(v.runs).toBe(14);
    expect(changepointLines(v)).toEqual([
      expect.stringMatching(
        /^change point: toy n=1 @here speed at run-12 \(2026-12-13T02:00:00.000Z\): mean 100\.1 → 50\.1 op\/s \(-49\.95%, worse; 12 runs before, 2 after\), p 0\.0\d+$/,
      ),
      'gate: 2 cell scores over 14 runs: 2 checked (1 new change point(s) worse by more than 5%, 0 other(s)); 0 unchecked',
    ]);
  });
});

describe('gateRun: the gate of a run that ended, over the stored runs', () => {
  const speeds = [...steady, 50, 50];
  const runs = speeds.map((_, i) => run(i));
  const stored: StoredRuns = {
    getRun: async (id) => runs.find((r) => r.id === id),
    listRuns: async () => [...runs].reverse(),
    listResults: async (q) =>
      results(
        runs.find((r) => r.id === q.runId)!,
        speeds[runs.findIndex((r) => r.id === q.runId)]!,
      ),
    close: async () => {},
  };
  const newest = runs.at(-1)!;
  const ran = { run: newest, results: results(newest, 50) };
  const history = runs.slice(0, -1);
  const baseline = {
    kind: 'runs' as const,
    runIds: history.map((r) => r.id).reverse(),
    records: [...history].reverse(),
    label: 'x',
    describe: "the 13 passing runs of 'nightly' tagged 'nightly'",
    notes: [],
  };

  it('changepoint: reads each history run’s results and judges the new run among them', async () => {
    const out = await gateRun(baseline, stored, 'changepoint', ran, 5);
    expect(out.against).toBe("the 13 passing runs of 'nightly' tagged 'nightly'");
    expect(out.gate).toBeUndefined();
    expect(out.changepoint?.regressions.map((f) => f.change.runId)).toEqual(['run-12']);
  });

  it('baseline: the same runs pooled under the label; none: only the note', async () => {
    const out = await gateRun({ ...baseline, runIds: ['run-11', 'run-10'] }, stored, 'baseline', ran, 5);
    expect(out.gate?.comparison.baseline).toBe('x');
    expect(out.gate?.summary.comparisons).toBe(2);
    expect(await gateRun({ kind: 'none', note: 'no baseline yet' }, stored, 'baseline', ran, 5)).toEqual({
      gateNotes: ['no baseline yet'],
    });
  });
});

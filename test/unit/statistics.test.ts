// Reference values computed with SciPy: test/fixtures/stats/make-reference.py
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bootstrapDiffPct, compare, holm, mannWhitney, summarize } from '../../src/analysis/index.js';
import type { RepetitionResult } from '../../src/core/index.js';
import { FIXTURES } from '../helpers/catalog.js';
import { repetitionResult } from '../helpers/results.js';

const reference = JSON.parse(readFileSync(path.join(FIXTURES, 'stats/mann-whitney.json'), 'utf8')) as {
  cases: { name: string; x: number[]; y: number[]; u: number; p: number }[];
};

describe('Mann-Whitney U against SciPy', () => {
  it.each(reference.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const r = mannWhitney(c.x, c.y);
    expect(r.u).toBe(c.u);
    expect(r.p).toBeCloseTo(c.p, 6);
  });
});

describe('Holm correction', () => {
  it('matches the textbook step-down example', () => {
    // p = .01 .04 .03 .005, m = 4: .005·4 = .02, .01·3 = .03, .03·2 = .06, max(.04·1, .06) = .06
    const adj = holm([0.01, 0.04, 0.03, 0.005]);
    [0.03, 0.06, 0.06, 0.02].forEach((v, i) => expect(adj[i]).toBeCloseTo(v, 12));
    expect(holm([0.5, 0.9])).toEqual([1, 1]);
  });
});

describe('summaries and bootstrap', () => {
  it('n, median, p95, CoV', () => {
    const s = summarize([10, 12, 11, 13, 9]);
    expect(s).toMatchObject({ n: 5, median: 11 });
    expect(s.cov).toBeCloseTo(Math.sqrt(2.5) / 11, 12);
    expect(s.p95).toBeCloseTo(12.8, 12); // linear interpolation, as numpy.percentile([10,12,11,13,9], 95)
  });

  it('gives a seeded, reproducible CI that contains the point estimate', () => {
    const a = [100, 101, 99, 100.5, 99.5];
    const b = [110, 111, 109, 110.5, 109.5];
    const ci = bootstrapDiffPct(a, b);
    expect(ci).toEqual(bootstrapDiffPct(a, b));
    expect(ci.low).toBeLessThanOrEqual(10);
    expect(ci.high).toBeGreaterThanOrEqual(10);
    expect(ci.low).toBeGreaterThan(5);
  });
});

function result(group: string, value: number, extra: Partial<RepetitionResult> = {}): RepetitionResult {
  return repetitionResult({
    params: { threads: 1 },
    target: group,
    scores: [
      { name: 'speed', value, unit: 'op/s', direction: 'higher' },
      { name: 'lat', value: 1000 / value, unit: 'ms', direction: 'lower' },
    ],
    ...extra,
  });
}

describe('compare', () => {
  const fast = [120, 121, 119, 122, 118, 120.5];
  const slow = [100, 101, 99, 102, 98, 100.5];
  const results = [...slow.map((v) => result('old', v)), ...fast.map((v) => result('new', v))];

  it('reports diff, CI, Holm-adjusted p and a verdict that respects direction', () => {
    const c = compare(results, { by: 'target', baseline: 'old' });
    expect(c.groups).toEqual(['old', 'new']);
    const speed = c.rows.find((r) => r.score === 'speed')!;
    const lat = c.rows.find((r) => r.score === 'lat')!;
    const s = speed.groups[1]!;
    expect(s.diffPct).toBeCloseTo(20, 0);
    expect(s.ci!.low).toBeGreaterThan(15);
    expect(s.p).toBeCloseTo(mannWhitney(fast, slow).p, 12);
    expect(s.pAdjusted).toBeCloseTo(Math.min(1, 2 * s.p!), 12); // two comparisons, same p
    expect(s.verdict).toBe('better');
    expect(lat.groups[1]!.diffPct).toBeLessThan(0);
    expect(lat.groups[1]!.verdict).toBe('better'); // lower latency is better
    expect(c.geomean).toEqual([{ group: 'new', ratio: expect.closeTo(1.2, 1), rows: 2 }]);
    expect(c.warnings).toEqual([]);
  });

  it('says "no significant difference" for noise, and warns when 3 repetitions cannot reach significance', () => {
    const c = compare(
      [...[1, 2, 3].map((v) => result('a', 100 + v)), ...[1, 2, 3].map((v) => result('b', 200 + v))],
      { by: 'target' },
    );
    expect(c.rows[0]!.groups[1]!.verdict).toBe('no significant difference');
    expect(c.warnings.join('\n')).toMatch(
      /with 3 repetitions per group Mann-Whitney cannot .* run 5 or more/,
    );
  });

  it('groups by a param and warns when groups differ in more than the axis', () => {
    const rs = [
      ...slow.map((v) => result('here', v, { params: { threads: 1 } })),
      ...fast.map((v) => result('here', v, { params: { threads: 2 }, imageDigest: 'sha256:2' })),
    ];
    const c = compare(rs, { by: 'param:threads' });
    expect(c.baseline).toBe('1');
    expect(c.rows[0]!.cell).toBe('b @here');
    expect(c.warnings[0]).toMatch(/differ in image digest \(sha256:1, sha256:2\), not only in param:threads/);
  });

  it('performance per dollar: cost per repetition, per-dollar medians and the geomean per dollar', () => {
    // `new` is 20 % faster and costs twice as much per hour: worse per dollar.
    const priced = [
      ...slow.map((v) => result('old', v, { hourlyPriceUsd: 1, durationMs: 36_000 })),
      ...fast.map((v) => result('new', v, { hourlyPriceUsd: 2, durationMs: 36_000 })),
    ];
    const c = compare(priced, { by: 'target', baseline: 'old' });
    const speed = c.rows.find((r) => r.score === 'speed')!;
    expect(speed.groups[0]).toMatchObject({
      hourlyPriceUsd: 1,
      costPerRepetitionUsd: 0.01,
      perDollar: 100.25,
    });
    expect(speed.groups[1]).toMatchObject({
      hourlyPriceUsd: 2,
      costPerRepetitionUsd: 0.02,
      perDollar: 60.125,
    });
    // lower-is-better scores have a cost, not a "per dollar"
    expect(c.rows.find((r) => r.score === 'lat')!.groups[1]!.perDollar).toBeUndefined();
    expect(c.prices).toEqual([
      { group: 'old', hourlyPriceUsd: 1 },
      { group: 'new', hourlyPriceUsd: 2 },
    ]);
    expect(c.geomean[0]!.ratio).toBeCloseTo(1.2, 1);
    expect(c.geomean[0]!.perDollarRatio).toBeCloseTo(c.geomean[0]!.ratio / 2, 12);
    // no price recorded: no cost figures, nothing invented
    const unpriced = compare(results, { by: 'target', baseline: 'old' });
    expect(unpriced.rows[0]!.groups[0]!.costPerRepetitionUsd).toBeUndefined();
    expect(unpriced.geomean[0]!.perDollarRatio).toBeUndefined();
  });

  it('groups by GPU model from the machine records, and by hardware fingerprint', () => {
    const machine = (runId: string, machineId: string, gpus: { model: string }[] | undefined) => ({
      runId,
      machineId,
      target: machineId,
      provider: 'aws',
      instanceType: 'x',
      hostname: machineId,
      fingerprint: machineId,
      collectedAt: '',
      hardware: gpus === undefined ? {} : { gpus },
    });
    const rs = [
      ...slow.map((v) => result('g4', v, { machineId: 'm1', fingerprint: 'aaaa' })),
      ...fast.map((v) => result('g5', v, { machineId: 'm2', fingerprint: 'bbbb' })),
      result('cpu', 50, { machineId: 'm3', fingerprint: 'cccc' }),
    ];
    const machines = [
      machine('r', 'm1', [{ model: 'Tesla T4' }]),
      machine('r', 'm2', [{ model: 'NVIDIA A10G' }, { model: 'NVIDIA A10G' }]),
      machine('r', 'm3', []),
    ];
    const c = compare(rs, { by: 'gpu-model', machines, baseline: 'Tesla T4' });
    expect(c.groups).toEqual(['Tesla T4', '2× NVIDIA A10G', 'none']);
    // the target is not part of the cell along a hardware axis: one row per score
    expect(c.rows.map((r) => r.cell)).toEqual(['b threads=1', 'b threads=1']);
    expect(c.rows[0]!.groups[1]!.verdict).toBe('better');
    expect(compare(rs, { by: 'gpu-model' }).groups).toContain('(unknown)');
    expect(compare(rs, { by: 'fingerprint' }).groups).toEqual(['aaaa', 'bbbb', 'cccc']);
    expect(compare(rs, { by: 'fingerprint' }).warnings.filter((w) => /fingerprint/.test(w))).toEqual([]);
  });

  it('warns when groups ran on different hardware, or one group on mixed hardware', () => {
    const rs = [
      ...slow.map((v) => result('here', v, { params: { threads: 1 }, fingerprint: 'aaaa' })),
      ...fast.map((v, i) =>
        result('here', v, { params: { threads: 2 }, fingerprint: i % 2 ? 'aaaa' : 'bbbb' }),
      ),
    ];
    const w = compare(rs, { by: 'param:threads' }).warnings.join('\n');
    expect(w).toMatch(/differ in hardware fingerprint \(aaaa, bbbb\), not only in param:threads/);
    expect(w).toMatch(/group 2 ran on 2 different hardware fingerprints/);
  });

  it('keeps warmup and control repetitions out of the statistics', () => {
    const rs = [...results, result('old', 1, { warmup: true }), result('old', 1, { control: true })];
    expect(compare(rs, { by: 'target', baseline: 'old' }).rows[0]!.groups[0]!.n).toBe(slow.length);
  });

  it('refuses an unknown baseline', () => {
    expect(() => compare(results, { by: 'target', baseline: 'nope' })).toThrow(
      /baseline 'nope' is not among the groups \(old, new\)/,
    );
  });
});

/**
 * The data behind the pictures: summary bars and their whiskers (from compare(), not
 * recomputed), the groups' hardware side by side, which metric series are charted and how,
 * and the trend of a score across tagged runs with its change points.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compare } from '../../src/analysis/index.js';
import type { MachineRecord, MetricSample, RepetitionResult, RunRecord } from '../../src/core/index.js';
import { buildHardwareTable } from '../../src/report/html/hardware-table.js';
import { buildPictures } from '../../src/report/html/model.js';
import { buildSeries, MIN_LINE_POINTS } from '../../src/report/html/series.js';
import { buildSummaryCharts, intervalOf, MAX_CELLS_PER_CHART } from '../../src/report/html/summary-chart.js';
import { buildTrend } from '../../src/report/html/trend.js';
import { repetitionResult } from '../helpers/results.js';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');

/** A passed repetition of `cell` (params size=<cell>) in `group` (target). */
function rep(
  group: string,
  size: number,
  repetition: number,
  scores: Record<string, number>,
  extra: Partial<RepetitionResult> = {},
): RepetitionResult {
  return repetitionResult({
    runId: 'r1',
    cellId: `${group}-${size}`,
    repetition,
    benchmark: 'bench',
    params: { size },
    target: group,
    machineId: `m-${group}`,
    scores: Object.entries(scores).map(([name, value]) => ({
      name,
      value,
      unit: name === 'latency' ? 'ms' : 'ops/s',
      direction: name === 'latency' ? ('lower' as const) : ('higher' as const),
    })),
    startedAt: new Date(T0 + repetition * 1000).toISOString(),
    ...extra,
  });
}

function groups(values: Record<string, number[]>, size = 1): RepetitionResult[] {
  return Object.entries(values).flatMap(([g, vs]) =>
    vs.map((v, i) => rep(g, size, i + 1, { speed: v, latency: 1000 / v })),
  );
}

describe('summary charts', () => {
  it('a chart per benchmark and score; bars are the medians, whiskers the comparison interval around the baseline median', () => {
    const results = [
      ...groups({ a: [100, 102, 98, 101, 99, 100], b: [120, 118, 122, 121, 119, 120] }, 1),
      ...groups({ a: [200, 204, 196, 202, 198, 200], b: [230, 236, 240, 238, 232, 234] }, 2),
    ];
    const c = compare(results, { by: 'target' });
    const charts = buildSummaryCharts(c);
    expect(charts.map((x) => [x.benchmark, x.score, x.unit, x.direction])).toEqual([
      ['bench', 'speed', 'ops/s', 'higher'],
      ['bench', 'latency', 'ms', 'lower'],
    ]);
    const speed = charts[0]!;
    expect(speed.groups).toEqual(['a', 'b']);
    expect(speed.baseline).toBe('a');
    expect(speed.cells.map((x) => x.label)).toEqual(['size=1', 'size=2']);
    for (const [i, row] of c.rows.filter((r) => r.score === 'speed').entries()) {
      const [base, contender] = row.groups;
      const [barA, barB] = speed.cells[i]!.bars;
      expect(barA).toMatchObject({ group: 'a', median: base!.median, n: 6 });
      expect(barA!.low).toBeUndefined(); // the baseline has no interval of its own
      expect(barB).toMatchObject({ group: 'b', median: contender!.median, diffPct: contender!.diffPct });
      // Exactly the comparison's interval: nothing recomputed here.
      expect(contender!.ci).toBeDefined();
      expect(barB!.low).toBeCloseTo(base!.median * (1 + contender!.ci!.low / 100), 9);
      expect(barB!.high).toBeCloseTo(base!.median * (1 + contender!.ci!.high / 100), 9);
      expect(barB!.low!).toBeLessThanOrEqual(barB!.high!);
    }
  });

  it('a group without the cell gets an empty bar; no interval without a baseline', () => {
    const results = [...groups({ a: [1, 2, 3], b: [2, 3, 4] }, 1), ...groups({ b: [5, 6, 7] }, 2)];
    const c = compare(results, { by: 'target' });
    const cell2 = buildSummaryCharts(c)[0]!.cells.find((x) => x.label === 'size=2')!;
    expect(cell2.bars[0]).toEqual({ group: 'a', n: 0 });
    expect(cell2.bars[1]).toMatchObject({ group: 'b', n: 3, median: 6 });
    expect(cell2.bars[1]!.low).toBeUndefined();
    expect(intervalOf(c.rows[0]!.groups[1]!, undefined)).toBeUndefined();
  });

  it('cells on very different scales get a chart each; many cells are split into charts of at most 12', () => {
    const far = compare([...groups({ a: [1, 1, 1] }, 1), ...groups({ a: [50, 50, 50] }, 2)], {
      by: 'target',
    });
    expect(buildSummaryCharts(far).filter((x) => x.score === 'speed')).toHaveLength(2);
    const many = compare(
      Array.from({ length: 30 }, (_, i) => groups({ a: [100 + i, 101 + i, 102 + i] }, i + 1)).flat(),
      { by: 'target' },
    );
    const speed = buildSummaryCharts(many).filter((x) => x.score === 'speed');
    expect(speed.map((x) => x.cells.length)).toEqual([12, 12, 6]);
  });

  it('property: every compared row is one cell of one chart, each bar its group median', () => {
    const values = fc.array(fc.double({ min: 0.5, max: 1000, noNaN: true }), { minLength: 1, maxLength: 6 });
    fc.assert(
      fc.property(
        fc.array(fc.record({ a: values, b: values, c: values }), { minLength: 1, maxLength: 15 }),
        (cells) => {
          const results = cells.flatMap((g, i) => groups(g, i + 1));
          const c = compare(results, { by: 'target' });
          const charts = buildSummaryCharts(c);
          const drawn = charts.flatMap((x) => x.cells.map((cell) => [x.score, cell.cell]));
          expect(drawn.sort()).toEqual(c.rows.map((r) => [r.score, r.cell]).sort());
          for (const x of charts) {
            expect(x.cells.length).toBeLessThanOrEqual(MAX_CELLS_PER_CHART);
            for (const cell of x.cells) {
              const row = c.rows.find((r) => r.cell === cell.cell && r.score === x.score)!;
              for (const bar of cell.bars) {
                const g = row.groups.find((y) => y.group === bar.group)!;
                expect(bar.median).toBe(g.n > 0 ? g.median : undefined);
                if (bar.low !== undefined) expect(bar.low).toBeLessThanOrEqual(bar.high!);
              }
            }
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});

function machine(group: string, hardware: unknown, extra: Partial<MachineRecord> = {}): MachineRecord {
  return {
    runId: 'r1',
    machineId: `m-${group}`,
    target: group,
    provider: 'ssh',
    instanceType: 'ssh',
    hostname: `${group}.lab`,
    fingerprint: `fp-${group}`,
    collectedAt: '2026-01-01T00:00:00.000Z',
    hardware,
    ...extra,
  };
}

describe('hardware side by side', () => {
  it('a column per group from the machines its results ran on; differing rows marked; prices from the comparison', () => {
    const results = groups({ a: [1, 2, 3], b: [2, 3, 4], c: [1, 1, 1] });
    const cpu = (model: string) => ({
      model,
      sockets: 1,
      cores: 8,
      threads: 16,
      caches: [{ level: 3, type: 'Unified', sizeBytes: 32 * 2 ** 20 }],
    });
    const t = buildHardwareTable({
      axis: 'target',
      groups: ['a', 'b', 'c'],
      results,
      machines: [
        machine('a', {
          cpu: cpu('EPYC 7763'),
          memory: { totalBytes: 64 * 2 ** 30 },
          gpus: [],
          kernel: '6.1.0',
        }),
        machine('b', {
          cpu: cpu('Xeon 8375C'),
          memory: { totalBytes: 64 * 2 ** 30 },
          gpus: [{ model: 'T4' }, { model: 'T4' }],
          kernel: '6.1.0',
        }),
      ],
      prices: [{ group: 'a', hourlyPriceUsd: 1.5 }, { group: 'b' }, { group: 'c' }],
    });
    expect(t.groups).toEqual(['a', 'b', 'c']);
    const row = (label: string) => t.rows.find((r) => r.label === label);
    expect(row('machines')!.values).toEqual(['1: a.lab', '1: b.lab', '(none recorded)']);
    expect(row('CPU')).toEqual({ label: 'CPU', values: ['EPYC 7763', 'Xeon 8375C', ''], differs: true });
    expect(row('memory')!.values).toEqual(['64 GiB', '64 GiB', '']);
    expect(row('caches (L2, L3)')!.values[0]).toBe('L3 32 MiB');
    expect(row('GPUs')!.values).toEqual(['none', '2× T4', '']);
    expect(row('price per hour')!.values).toEqual(['$1.500', '', '']);
    expect(row('FPGAs')).toBeUndefined(); // no machine answers it
  });

  it('groups along a param share machines; a machine without a fingerprint still shows its record', () => {
    const results = [rep('a', 1, 1, { speed: 1 }), rep('a', 2, 1, { speed: 2 })];
    const t = buildHardwareTable({
      axis: 'param:size',
      groups: ['1', '2'],
      results,
      machines: [machine('a', null)],
    });
    expect(t.rows.find((r) => r.label === 'provider')).toEqual({
      label: 'provider',
      values: ['ssh', 'ssh'],
      differs: false,
    });
  });
});

function sample(r: RepetitionResult, name: string, atMs: number, value: number): MetricSample {
  return {
    runId: r.runId,
    cellId: r.cellId,
    repetition: r.repetition,
    scope: name.split('.')[0] as MetricSample['scope'],
    name,
    unit: name.endsWith('bytes_per_sec') ? 'bytes/s' : 'cores',
    value,
    timestamp: Date.parse(r.startedAt) + atMs,
    seq: atMs,
    host: 'h',
  };
}

describe('metric charts', () => {
  it('a metric constant in every repetition of a cell is named, not charted; short repetitions are dots', () => {
    const [r1, r2] = [rep('a', 1, 1, { speed: 1 }), rep('a', 1, 2, { speed: 1 })];
    const ticks = (n: number) => Array.from({ length: n }, (_, i) => i * 250);
    const samples = [
      ...[r1!, r2!].flatMap((r) => ticks(3).map((t) => sample(r, 'container.disk.read.bytes_per_sec', t, 0))),
      ...ticks(3).map((t) => sample(r1!, 'container.cpu.usage.cores', t, 0.5 + t / 1000)),
      ...ticks(3).map((t) => sample(r2!, 'container.cpu.usage.cores', t, 0.9)),
      ...ticks(MIN_LINE_POINTS).map((t) => sample(r1!, 'host.cpu.usage.cores', t, t)),
      ...ticks(3).map((t) => sample(r1!, 'collector.cpu.cores', t, 0.01)),
    ];
    const [cell] = buildSeries(samples, [r1!, r2!]);
    expect(cell!.constant).toEqual([
      { name: 'container.disk.read.bytes_per_sec', unit: 'bytes/s', values: [0] },
    ]);
    const [rep1, rep2] = cell!.repetitions;
    expect(rep1!.charts.map((c) => [c.title, c.mode])).toEqual([
      ['container.cpu.usage.cores', 'points'],
      ['host.cpu.usage.cores', 'line'],
    ]);
    // Varies in repetition 1, so repetition 2 shows it too (flat), for comparison.
    expect(rep2!.charts.map((c) => c.title)).toEqual(['container.cpu.usage.cores']);
  });

  it('the report model and a run page get the same pictures: summary by target, hardware, boxes, series', () => {
    const results = groups({ a: [1, 2, 3], b: [3, 4, 5] });
    const p = buildPictures({ results, samples: [], machines: [machine('a', {})] });
    expect(p.summary).toMatchObject({ axis: 'target', baseline: 'a' });
    expect(p.summary.charts.map((c) => c.score)).toEqual(['speed', 'latency']);
    expect(p.hardware.groups).toEqual(['a', 'b']);
    expect(p.boxPlots.charts).toHaveLength(2);
    expect(p.series).toEqual([]);
  });
});

function taggedRun(i: number, extra: Partial<RunRecord> = {}): RunRecord {
  return {
    id: `n${i}`,
    name: 'nightly',
    matrixPath: 'm.yaml',
    status: 'passed',
    startedAt: new Date(T0 + i * 86_400_000).toISOString(),
    cells: 1,
    repetitions: 5,
    passed: 5,
    failed: 0,
    tags: ['nightly'],
    ...extra,
  };
}

describe('trend across tagged runs', () => {
  const level = (i: number) => (i < 5 ? 100 : 80); // a 20 % drop from the sixth run on
  const runs = Array.from({ length: 10 }, (_, i) => taggedRun(i));
  const results = runs.flatMap((run, i) =>
    [0, 1, 2, 3, 4].map((k) =>
      rep('a', 1, k + 1, { speed: level(i) + [-1, 0.5, 0, 1, -0.5][k]! }, { runId: run.id }),
    ),
  );

  it('a point per run, oldest first, at the median; whiskers from comparing each run with the previous one', () => {
    const t = buildTrend({ tag: 'nightly', runs: [...runs].reverse(), results });
    expect(t.runs.map((r) => r.id)).toEqual(runs.map((r) => r.id));
    const speed = t.charts.find((c) => c.score === 'speed')!;
    expect(speed.cell).toBe('bench size=1 @a');
    expect(speed.points.map((p) => p.median)).toEqual(runs.map((_, i) => level(i)));
    expect(speed.points[0]!.low).toBeUndefined();
    const pair = compare(
      results.filter((r) => r.runId === 'n4' || r.runId === 'n5'),
      { by: 'run', baseline: 'n4' },
    );
    const g = pair.rows.find((r) => r.score === 'speed')!.groups[1]!;
    if (g.ci) {
      expect(speed.points[5]!.low).toBeCloseTo(100 * (1 + g.ci.low / 100), 9);
      expect(speed.points[5]!.high).toBeCloseTo(100 * (1 + g.ci.high / 100), 9);
    } else expect(speed.points[5]!.low).toBeUndefined();
  });

  it('marks the change point E-divisive finds at the step, and none in a flat history', () => {
    const t = buildTrend({ tag: 'nightly', runs, results });
    const speed = t.charts.find((c) => c.score === 'speed')!;
    expect(speed.changePoints).toHaveLength(1);
    expect(speed.changePoints[0]).toMatchObject({ index: 5 });
    expect(speed.changePoints[0]!.changePct).toBeCloseTo(-20, 0);
    expect(t.changePointMethod).toMatch(/E-divisive/);
    const flat = results.filter((r) => Number(r.runId.slice(1)) < 5);
    expect(buildTrend({ tag: 'nightly', runs, results: flat }).charts[0]!.changePoints).toEqual([]);
  });

  it('takes another finder through the hook (indexes outside the series dropped); skips runs without a passed repetition', () => {
    const t = buildTrend({
      tag: 'nightly',
      runs: [...runs, taggedRun(20, { id: 'broken', status: 'failed' })],
      results: [...results, rep('a', 1, 1, { speed: 5 }, { runId: 'broken', status: 'failed' })],
      changePoints: () => [{ index: 0 }, { index: 3 }, { index: 99 }],
      changePointMethod: 'test finder',
    });
    const speed = t.charts.find((c) => c.score === 'speed')!;
    expect(speed.points).toHaveLength(10);
    expect(speed.changePoints).toEqual([{ index: 3 }]);
    expect(t.changePointMethod).toBe('test finder');
    expect(t.runs.map((r) => r.id)).toContain('broken');
  });
});

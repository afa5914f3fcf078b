import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { compare } from '../../src/analysis/index.js';
import type { MetricSample, RepetitionResult, RunRecord } from '../../src/core/index.js';
import { fiveNumbers } from '../../src/report/html/box-plots.js';
import { downsampleMinMax } from '../../src/report/html/downsample.js';
import { buildReportModel, type ReportModel } from '../../src/report/html/model.js';
import { jsonForScript, renderReportHtml } from '../../src/report/html/render.js';
import { buildSeries, pickMetrics } from '../../src/report/html/series.js';

import { ROOT } from '../helpers/catalog.js';
import { repetitionResult } from '../helpers/results.js';

const CLIENT = { client: path.join(ROOT, 'dist/web/report.js') };

const HOSTILE = '</script><script>alert(1)</script>';
const T0 = Date.parse('2026-01-01T00:00:00.000Z');

function run(extra: Partial<RunRecord> = {}): RunRecord {
  return {
    id: 'r1',
    name: 'nightly',
    matrixPath: 'm.yaml',
    status: 'passed',
    startedAt: '2026-01-01T00:00:00.000Z',
    cells: 2,
    repetitions: 6,
    passed: 6,
    failed: 0,
    ...extra,
  };
}

function result(threads: number, repetition: number, value: number, extra: Partial<RepetitionResult> = {}) {
  return repetitionResult({
    runId: 'r1',
    cellId: `c${threads}`,
    repetition,
    benchmark: 'sysbench-cpu',
    params: { threads },
    scores: [{ name: 'events', value, unit: 'events/s', direction: 'higher' }],
    startedAt: new Date(T0 + (threads * 10 + repetition) * 1000).toISOString(),
    durationMs: 1000,
    ...extra,
  });
}

function sample(
  r: RepetitionResult,
  name: string,
  atMs: number,
  value: number,
  extra: Partial<MetricSample> = {},
) {
  const s: MetricSample = {
    runId: r.runId,
    cellId: r.cellId,
    repetition: r.repetition,
    scope: name.split('.')[0] as MetricSample['scope'],
    name,
    unit: 'u',
    value,
    timestamp: Date.parse(r.startedAt) + atMs,
    seq: atMs,
    host: 'h',
    ...extra,
  };
  return s;
}

const results = [
  ...[100, 110, 120].map((v, i) => result(1, i + 1, v)),
  ...[200, 190, 210].map((v, i) => result(2, i + 1, v)),
];

describe('report model', () => {
  it('box plots: the five numbers are simple-statistics quantiles of each group, raw values kept', () => {
    // sorted 1 1 2 3 4 5 6 9; linear interpolation at rank p·(n−1) (R-7, numpy's default):
    // Q1 at 1.75 → 1 + 0.75·(2−1), median at 3.5 → (3+4)/2, Q3 at 5.25 → 5 + 0.25·(6−5)
    expect(fiveNumbers([3, 1, 4, 1, 5, 9, 2, 6])).toEqual([1, 1.75, 3.5, 5.25, 9]);
    expect(fiveNumbers([7])).toEqual([7, 7, 7, 7, 7]);

    const comparison = compare(results, { by: 'param:threads' });
    const m = buildReportModel({ runs: [run()], results, samples: [], comparison, generatedAt: 'now' });
    expect(m.boxPlots.axis).toBe('param:threads');
    expect(m.boxPlots.charts).toHaveLength(comparison.rows.length);
    const [chart] = m.boxPlots.charts;
    expect(chart).toMatchObject({ unit: 'events/s', direction: 'higher' });
    expect(chart!.title).toBe(`${comparison.rows[0]!.cell} · events`);
    expect(chart!.groups).toEqual([
      { group: '1', values: [100, 110, 120], box: [100, 105, 110, 115, 120] },
      { group: '2', values: [200, 190, 210], box: [190, 195, 200, 205, 210] },
    ]);
  });

  it('without a comparison: boxes by target, no compare table or cost', () => {
    const m = buildReportModel({ runs: [run()], results, samples: [], generatedAt: 'now' });
    expect(m.comparison).toBeUndefined();
    expect(m.cost).toBeUndefined();
    expect(m.boxPlots.axis).toBe('target');
    expect(m.boxPlots.charts.map((c) => c.groups.map((g) => g.group))).toEqual([['here'], ['here']]);
    expect(m.cells.map((c) => [c.cellId, c.passed, c.total])).toEqual([
      ['c1', 3, 3],
      ['c2', 3, 3],
    ]);
  });

  it('cost: from the comparison where prices were recorded, else marked unpriced', () => {
    const unpriced = buildReportModel({
      runs: [run()],
      results,
      samples: [],
      comparison: compare(results, { by: 'param:threads' }),
      generatedAt: 'now',
    });
    expect(unpriced.cost).toMatchObject({ priced: false, rows: [] });

    const priced = results.map((r) => ({ ...r, hourlyPriceUsd: r.params.threads === 1 ? 1 : 2 }));
    const m = buildReportModel({
      runs: [run()],
      results: priced,
      samples: [],
      comparison: compare(priced, { by: 'param:threads' }),
      generatedAt: 'now',
    });
    expect(m.cost!.priced).toBe(true);
    expect(m.cost!.rows[0]).toMatchObject({ group: '1', hourlyPriceUsd: 1, perDollar: 110 });
    expect(m.cost!.rows[0]!.costPerRepetitionUsd).toBeCloseTo(1 / 3600, 8);
    expect(m.cost!.geomean[0]!.perDollarRatio).toBeCloseTo(200 / 110 / 2, 6);
    expect(m.cells[0]!.hourlyPriceUsd).toBe(1);
  });

  it('downsampling keeps at most 600 points, in order, with the min and max', () => {
    const points: [number, number][] = Array.from({ length: 10_000 }, (_, i) => [i / 10, Math.sin(i / 50)]);
    points[4321]![1] = 99; // a spike
    points[7777]![1] = -42; // a dip
    const out = downsampleMinMax(points, 600);
    expect(out.length).toBeLessThanOrEqual(600);
    expect(out.length).toBeGreaterThan(500);
    expect(out).toContainEqual([432.1, 99]);
    expect(out).toContainEqual([777.7, -42]);
    expect(out.every((p, i) => i === 0 || p[0] > out[i - 1]![0])).toBe(true);
    expect(downsampleMinMax(points.slice(0, 50))).toEqual(points.slice(0, 50));
  });

  it('time series: per cell and repetition, x in seconds since the repetition started, ≤ 8 charts', () => {
    const r = results[0]!;
    const names = [
      'collector.cpu.pct',
      'host.memory.used.bytes',
      'host.cpu.usage.pct',
      'container.cpu.usage.cores',
      'container.memory.usage.bytes',
      'container.cpu.throttled.pct',
      'container.pids.count',
      'app.tokens_per_second',
      'gpu.utilization.pct',
      'gpu.memory.used.bytes',
      'gpu.power.draw.watts',
      'gpu.temperature.celsius',
    ];
    const samples = [
      ...names.flatMap((n) => [0, 500, 1000].map((t) => sample(r, n, t, t))),
      ...Array.from({ length: 2000 }, (_, i) =>
        sample(r, 'gpu.utilization.pct', i, i % 100, { device: 'GPU-1', seq: 10_000 + i }),
      ),
      sample(r, 'host.cpu.usage.pct', 0, 1, { cellId: '', repetition: 0 }), // between repetitions
    ];
    const cells = buildSeries(samples, results);
    expect(cells).toHaveLength(1);
    expect(cells[0]).toMatchObject({ runId: 'r1', cellId: 'c1', label: 'sysbench-cpu threads=1 @here' });
    const charts = cells[0]!.repetitions[0]!.charts;
    expect(charts.map((c) => c.title)).toEqual([
      'container.cpu.usage.cores',
      'container.cpu.throttled.pct',
      'container.memory.usage.bytes',
      'gpu.utilization.pct',
      'gpu.memory.used.bytes',
      'gpu.power.draw.watts',
      'app.tokens_per_second',
      'host.cpu.usage.pct',
    ]);
    expect(charts[0]!.lines[0]!.points).toEqual([
      [0, 0],
      [0.5, 500],
      [1, 1000],
    ]);
    const gpu = charts.find((c) => c.title === 'gpu.utilization.pct')!;
    expect(gpu.lines.map((l) => l.name)).toEqual(['gpu.utilization.pct', 'gpu.utilization.pct [GPU-1]']);
    expect(gpu.lines[1]!.points.length).toBeLessThanOrEqual(600);
    expect(pickMetrics(['a.x', 'collector.y', 'b.z'], 2)).toEqual(['a.x', 'b.z']);
  });
});

describe('rendered HTML', () => {
  let m: ReportModel;
  beforeAll(() => {
    // The page inlines the bundled client; make it (quick) so this file also runs alone.
    execFileSync(process.execPath, [path.join(ROOT, 'scripts/bundle-web.mjs')], { cwd: ROOT });
    const hostile: RepetitionResult[] = results.map((r) => ({
      ...r,
      target: HOSTILE,
      params: { ...r.params, note: HOSTILE },
      scores: r.scores.map((s) => ({ ...s, name: HOSTILE, unit: HOSTILE })),
    }));
    hostile.push(
      result(1, 9, 0, { status: 'failed', failureClass: 'BENCHMARK_FAILED', failureReason: HOSTILE }),
    );
    m = buildReportModel({
      runs: [run({ name: HOSTILE, id: HOSTILE })],
      results: hostile,
      samples: [sample(hostile[0]!, 'app.x', 0, 1, { name: `app.${HOSTILE}`, device: HOSTILE })],
      comparison: compare(hostile, { by: 'param:threads' }),
      generatedAt: '2026-01-01T00:00:00.000Z',
      notes: [HOSTILE],
    });
  });

  it('escapes a hostile run name, target, param, score and failure reason everywhere', async () => {
    const html = await renderReportHtml(m, CLIENT);
    expect(html).not.toContain(HOSTILE);
    expect(html).not.toMatch(/<script>alert/i);
    // exactly our three script elements: the data, ECharts, the client
    expect(html.match(/<script\b/gi)).toHaveLength(3);
    expect(html.match(/<\/script>/gi)).toHaveLength(3);
    expect(html).toContain(
      '<title>benchyard report — &lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;</title>',
    );
    const json = /<script type="application\/json" id="report-data">([^]*?)<\/script>/.exec(html)![1]!;
    expect(JSON.parse(json)).toEqual(JSON.parse(JSON.stringify(m)));
    expect(jsonForScript({ s: '<!-- </script>' })).toBe('{"s":"\\u003c!-- \\u003c/script>"}');
  });

  it('says to build when the client script is missing', async () => {
    await expect(renderReportHtml(m, { client: '/nonexistent/report.js' })).rejects.toThrow(
      /missing .*run npm run build/,
    );
  });
});

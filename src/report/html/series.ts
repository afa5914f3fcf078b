/**
 * Metric time series per repetition: one chart per metric name (a line per device), the
 * most telling metrics first, x in seconds since the repetition started. A metric that
 * never changes in a cell (a CPU benchmark's disk I/O at zero) gets no chart, only a
 * mention; a repetition too short for a line gets dots. Pure.
 */
import type { MetricSample, RepetitionResult } from '../../core/index.js';
import { formatParams } from '../summary.js';
import type { SeriesData } from './chart-data.js';
import { downsampleMinMax } from './downsample.js';

export interface SeriesCell {
  runId: string;
  cellId: string;
  /** Benchmark, params and target, as a person reads it. */
  label: string;
  repetitions: { repetition: number; warmup: boolean; status?: string; charts: SeriesData[] }[];
  /** Metrics with one value throughout the cell (at the 4 digits drawn): not charted. */
  constant: { name: string; unit: string; values: number[] }[];
}

export interface SeriesOptions {
  /** Charts per repetition. @default 8 */
  maxCharts?: number;
  /** Points per line. @default 600 */
  maxPoints?: number;
}

/** A line with fewer points than this is drawn as dots: two points make a line that says nothing. */
export const MIN_LINE_POINTS = 8;

/** Categories in order of preference; a repetition's charts take turns from each. */
const PREFERRED = ['container.cpu.', 'container.memory.', 'gpu.', 'app.', 'host.cpu.'];
/** Within a category, these come first. */
const FIRST = [
  'container.cpu.usage.cores',
  'container.memory.usage.bytes',
  'gpu.utilization.pct',
  'gpu.memory.used.bytes',
  'gpu.power.draw.watts',
  'host.cpu.usage.pct',
];

export function buildSeries(
  samples: readonly MetricSample[],
  results: readonly RepetitionResult[],
  opts: SeriesOptions = {},
): SeriesCell[] {
  const maxCharts = opts.maxCharts ?? 8;
  const maxPoints = opts.maxPoints ?? 600;
  const resultOf = new Map(results.map((r) => [repKey(r.runId, r.cellId, r.repetition), r]));
  const multiRun = new Set(results.map((r) => r.runId)).size > 1;

  // run+cell → repetition → metric name → line name → points
  const byRep = new Map<string, Map<string, Map<string, [number, number][]>>>();
  const units = new Map<string, string>();
  for (const s of samples) {
    if (s.cellId === '') continue; // between repetitions
    const key = repKey(s.runId, s.cellId, s.repetition);
    const metrics = byRep.get(key) ?? new Map<string, Map<string, [number, number][]>>();
    byRep.set(key, metrics);
    const lines = metrics.get(s.name) ?? new Map<string, [number, number][]>();
    metrics.set(s.name, lines);
    const line = s.device ? `${s.name} [${s.device}]` : s.name;
    const points = lines.get(line) ?? [];
    lines.set(line, points);
    points.push([s.timestamp, s.value]);
    if (!units.has(s.name)) units.set(s.name, s.unit);
  }

  const varying = varyingMetrics(byRep);
  const cells = new Map<string, SeriesCell>();
  for (const [key, metrics] of byRep) {
    const [runId, cellId, rep] = JSON.parse(key) as [string, string, number];
    const cellKey = cellKeyOf(key);
    const drawn = [...metrics.keys()].filter((name) => varying.get(cellKey)?.has(name));
    const result = resultOf.get(key);
    const startMs = result ? Date.parse(result.startedAt) : firstTimestamp(metrics);
    const charts = pickMetrics(drawn, maxCharts).map((name): SeriesData => {
      const lines = [...metrics.get(name)!].map(([lineName, pts]) => ({
        name: lineName,
        points: downsampleMinMax(
          pts
            .sort((a, b) => a[0] - b[0])
            .map(([t, v]): [number, number] => [round((t - startMs) / 1000, 2), significant(v)]),
          maxPoints,
        ),
      }));
      const mode = lines.some((l) => l.points.length < MIN_LINE_POINTS) ? 'points' : 'line';
      return { title: name, unit: units.get(name) ?? '', mode, lines };
    });
    const cell = cells.get(cellKey) ?? {
      runId,
      cellId,
      label: cellLabel(
        results.find((r) => r.runId === runId && r.cellId === cellId),
        cellId,
        multiRun,
      ),
      repetitions: [],
      constant: [],
    };
    cells.set(cellKey, cell);
    cell.repetitions.push({
      repetition: rep,
      warmup: result?.warmup ?? false,
      ...(result ? { status: result.status } : {}),
      charts,
    });
  }
  // What was left out, with its value(s), so the page can say so in one line.
  const constant = new Map<string, Map<string, Set<number>>>();
  for (const [key, metrics] of byRep) {
    const cellKey = cellKeyOf(key);
    const values = constant.get(cellKey) ?? new Map<string, Set<number>>();
    constant.set(cellKey, values);
    for (const [name, lines] of metrics) {
      if (varying.get(cellKey)?.has(name) || name.startsWith('collector.')) continue;
      const seen = values.get(name) ?? new Set<number>();
      values.set(name, seen);
      for (const points of lines.values()) for (const [, v] of points) seen.add(significant(v));
    }
  }
  for (const [cellKey, cell] of cells)
    cell.constant = [...(constant.get(cellKey) ?? [])]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, vs]) => ({ name, unit: units.get(name) ?? '', values: [...vs].sort((a, b) => a - b) }));
  for (const c of cells.values()) c.repetitions.sort((a, b) => a.repetition - b.repetition);
  return [...cells.values()];
}

/**
 * Per run and cell (the key is JSON of [runId, cellId]): the metrics that take more than one
 * value, at the 4 digits drawn, in some line of some repetition.
 */
function varyingMetrics(
  byRep: Map<string, Map<string, Map<string, [number, number][]>>>,
): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const [key, metrics] of byRep) {
    const cellKey = cellKeyOf(key);
    const names = out.get(cellKey) ?? new Set<string>();
    out.set(cellKey, names);
    for (const [name, lines] of metrics)
      for (const points of lines.values()) {
        const first = significant(points[0]?.[1] ?? NaN);
        if (points.some(([, v]) => significant(v) !== first)) names.add(name);
      }
  }
  return out;
}

/** Up to `max` metric names: taking turns from each preferred category, then the rest. */
export function pickMetrics(names: readonly string[], max: number): string[] {
  const order = (a: string, b: string) => (rank(a) === rank(b) ? 0 : rank(a) - rank(b)) || a.localeCompare(b);
  const rank = (n: string) => (FIRST.includes(n) ? FIRST.indexOf(n) : FIRST.length);
  const queues = PREFERRED.map((p) => names.filter((n) => n.startsWith(p)).sort(order));
  const picked: string[] = [];
  while (picked.length < max && queues.some((q) => q.length > 0))
    for (const q of queues) if (q.length > 0 && picked.length < max) picked.push(q.shift()!);
  const category = (n: string) => {
    const i = PREFERRED.findIndex((p) => n.startsWith(p));
    return i >= 0 ? i : n.startsWith('collector.') ? PREFERRED.length + 1 : PREFERRED.length;
  };
  const rest = names
    .filter((n) => !picked.includes(n))
    .sort((a, b) => category(a) - category(b) || a.localeCompare(b));
  picked.push(...rest.slice(0, Math.max(0, max - picked.length)));
  return picked.sort((a, b) => category(a) - category(b) || order(a, b));
}

function cellLabel(r: RepetitionResult | undefined, cellId: string, withRun: boolean): string {
  if (!r) return cellId;
  const label = [r.benchmark, formatParams(r.params), `@${r.target}`].filter(Boolean).join(' ');
  return withRun ? `${label} (run ${r.runId})` : label;
}

function firstTimestamp(metrics: Map<string, Map<string, [number, number][]>>): number {
  let first = Infinity;
  for (const lines of metrics.values())
    for (const points of lines.values()) for (const [t] of points) first = Math.min(first, t);
  return first;
}

/** A repetition's key → its run and cell's key. */
function cellKeyOf(repetitionKey: string): string {
  const [runId, cellId] = JSON.parse(repetitionKey) as [string, string, number];
  return JSON.stringify([runId, cellId]);
}

function repKey(runId: string, cellId: string, repetition: number): string {
  return JSON.stringify([runId, cellId, repetition]);
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Four significant digits: plenty for a line on a chart, and shorter JSON. */
function significant(x: number): number {
  return Number.isFinite(x) && x !== 0 ? Number(x.toPrecision(4)) : x;
}

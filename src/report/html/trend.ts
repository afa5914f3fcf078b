/**
 * The trend of each cell and score across the runs that carry a tag (a nightly's history):
 * a point per run at its median, whiskers from comparing each run with the one before it,
 * and the change points E-divisive finds in the medians (the detector `benchyard history`
 * uses). Pure; the statistics are src/analysis's.
 */
import { CHANGE_POINT_METHOD, eDivisive } from '../../analysis/changepoint.js';
import { compare, type Comparison } from '../../analysis/compare.js';
import type { RepetitionResult, RunRecord } from '../../core/index.js';
import type { TrendChartData, TrendPoint } from './chart-data.js';
import { intervalOf } from './summary-chart.js';

/**
 * Change points in one series of run medians, oldest first: at `index` the first run after
 * each change.
 */
export type ChangePointFinder = (
  values: readonly number[],
) => readonly { index: number; changePct?: number; p?: number }[];

/** E-divisive means with src/analysis/changepoint.ts's defaults. */
export const eDivisiveChangePoints: ChangePointFinder = (values) =>
  eDivisive(values).map((c) => ({
    index: c.index,
    p: c.p,
    ...(Number.isFinite(c.changePct) ? { changePct: c.changePct } : {}),
  }));

export interface TrendInput {
  tag: string;
  /** The runs with the tag, any order. */
  runs: readonly RunRecord[];
  results: readonly RepetitionResult[];
  /** @default eDivisiveChangePoints */
  changePoints?: ChangePointFinder;
  /** Said on the page: which detector marked the change points. @default CHANGE_POINT_METHOD */
  changePointMethod?: string;
}

export interface TrendModel {
  tag: string;
  runs: Pick<RunRecord, 'id' | 'name' | 'status' | 'startedAt' | 'passed' | 'failed'>[];
  charts: TrendChartData[];
  changePointMethod: string;
  whiskers: string;
}

export const TREND_WHISKERS =
  "whiskers: the 95 % interval of the change from the previous run (compare by run), drawn around this run's median; the first run has none";

export function buildTrend(input: TrendInput): TrendModel {
  const runs = [...input.runs].sort(
    (a, b) => a.startedAt.localeCompare(b.startedAt) || a.id.localeCompare(b.id),
  );
  const byRun = new Map<string, RepetitionResult[]>(runs.map((r) => [r.id, []]));
  for (const r of input.results) byRun.get(r.runId)?.push(r);
  // Only runs with a measured, passed repetition can be a comparison's baseline.
  const withResults = runs.filter((r) =>
    byRun.get(r.id)!.some((x) => x.status === 'passed' && !x.warmup && !x.control),
  );

  // cell+score → its chart; each run adds its point from a comparison with its predecessor.
  const charts = new Map<string, TrendChartData>();
  const add = (c: Comparison, runId: string, at: string) => {
    for (const row of c.rows) {
      const key = JSON.stringify([row.cell, row.score]);
      const chart = charts.get(key) ?? {
        cell: row.cell,
        benchmark: row.benchmark,
        score: row.score,
        unit: row.unit,
        direction: row.direction,
        points: [],
        changePoints: [],
      };
      charts.set(key, chart);
      const g = row.groups.find((x) => x.group === runId);
      if (!g || g.n === 0) continue;
      const interval = intervalOf(
        g,
        row.groups.find((x) => x.group === c.baseline && x.group !== runId),
      );
      const point: TrendPoint = { runId, at, n: g.n, median: g.median, ...(interval ?? {}) };
      chart.points.push(point);
    }
  };
  withResults.forEach((run, i) => {
    const prev = withResults[i - 1];
    const results = [...(prev ? byRun.get(prev.id)! : []), ...byRun.get(run.id)!];
    const c = compare(results, { by: 'run', ...(prev ? { baseline: prev.id } : {}) });
    add(c, run.id, run.startedAt);
  });

  const find = input.changePoints ?? eDivisiveChangePoints;
  for (const chart of charts.values()) {
    const values = chart.points.map((p) => p.median);
    chart.changePoints = [...find(values)].filter(
      (c) => Number.isInteger(c.index) && c.index > 0 && c.index < values.length,
    );
  }
  return {
    tag: input.tag,
    runs: runs.map(({ id, name, status, startedAt, passed, failed }) => ({
      id,
      name,
      status,
      startedAt,
      passed,
      failed,
    })),
    charts: [...charts.values()].filter((c) => c.points.length > 0),
    changePointMethod: input.changePointMethod ?? CHANGE_POINT_METHOD,
    whiskers: TREND_WHISKERS,
  };
}

/**
 * What one chart draws: plain JSON, made on the server (src/report/html/*.ts) and drawn in
 * the browser (src/web/charts.ts). DOM-free, so both sides can import it.
 */

/** One box per group: the five numbers (min, Q1, median, Q3, max) and the raw values. */
export interface BoxPlotData {
  title: string;
  unit: string;
  direction: 'higher' | 'lower';
  groups: { group: string; values: number[]; box: [number, number, number, number, number] }[];
}

/**
 * Lines over time: points are [seconds since the repetition's start, value]. `points`:
 * too few samples for a line to mean anything (a short repetition): draw dots only.
 */
export interface SeriesData {
  title: string;
  unit: string;
  mode?: 'line' | 'points';
  lines: { name: string; points: [number, number][] }[];
}

/**
 * One score of one benchmark, OpenBenchmarking-style: per cell, a horizontal bar per group
 * from zero to its median, with the comparison's interval as whiskers where it gave one.
 */
export interface SummaryChartData {
  benchmark: string;
  score: string;
  unit: string;
  direction: 'higher' | 'lower';
  /** Every group in the comparison's order, the baseline first (a colour each). */
  groups: string[];
  baseline: string;
  /** Of the whiskers: the comparison's confidence for this score (e.g. 0.95). */
  confidence?: number;
  cells: SummaryCell[];
}

export interface SummaryCell {
  /** The comparison's cell (benchmark, params, target). */
  cell: string;
  /** What tells it apart within the chart: the cell without its benchmark. */
  label: string;
  bars: SummaryBar[];
}

export interface SummaryBar {
  group: string;
  n: number;
  /** Absent when the group has no passed repetition of the cell. */
  median?: number;
  /** The whisker, in the score's unit (see `intervalOf` in summary-chart.ts). */
  low?: number;
  high?: number;
  /** % vs the baseline, as the comparison gives it. */
  diffPct?: number;
  verdict?: string;
  /** With verdict `too few repetitions`: how many would allow one. */
  needsRepetitions?: number;
}

/** Machines side by side: a column per group, a row per property. */
export interface HardwareTable {
  groups: string[];
  rows: { label: string; values: string[]; differs: boolean }[];
}

/** One cell and score across the runs with a tag, oldest first. */
export interface TrendChartData {
  cell: string;
  benchmark: string;
  score: string;
  unit: string;
  direction: 'higher' | 'lower';
  points: TrendPoint[];
  /** Where the level changed: `index` into `points` is the first run after the change. */
  changePoints: { index: number; changePct?: number; p?: number }[];
}

export interface TrendPoint {
  runId: string;
  /** The run's start (ISO 8601). */
  at: string;
  n: number;
  median: number;
  low?: number;
  high?: number;
}

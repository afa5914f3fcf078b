/**
 * What one chart draws: plain JSON, made on the server (src/report/html/model.ts) and
 * drawn in the browser (src/web/charts.ts). DOM-free, so both sides can import it.
 */

/** One box per group: the five numbers (min, Q1, median, Q3, max) and the raw values. */
export interface BoxPlotData {
  title: string;
  unit: string;
  direction: 'higher' | 'lower';
  groups: { group: string; values: number[]; box: [number, number, number, number, number] }[];
}

/** Lines over time: points are [seconds since the repetition's start, value]. */
export interface SeriesData {
  title: string;
  unit: string;
  lines: { name: string; points: [number, number][] }[];
}

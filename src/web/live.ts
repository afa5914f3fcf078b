/**
 * What the web UI needs beyond src/web/charts.ts: a line chart that grows as samples
 * arrive (updated in place, redrawn at most once per frame), and the live stream of a
 * run as typed callbacks. A drawn chart's container gets `data-chart="drawn"`, as in charts.ts.
 */
import type { RunSnapshot } from '../serve/api.js';
import type { SeriesChunk } from '../serve/samples.js';
import type { CellView, RunSummary } from '../serve/views.js';
import { lineOption, mount, SERIES_HEIGHT_PX } from './charts.js';
/** Points kept per line: older ones are dropped. */
const MAX_POINTS = 2000;

/** Lines of [seconds, value], each starting at 0 at its first point; new points are appended. */
export class LiveSeriesChart {
  private readonly lines = new Map<string, { start: number; points: [number, number][] }>();
  private readonly chart: ReturnType<typeof echarts.init>;
  private readonly observer: ResizeObserver;
  private pending = false;

  /** @param scale multiplies every value (bytes → MiB) */
  constructor(
    el: HTMLElement,
    title: string,
    private readonly unit: string,
    private readonly scale = 1,
  ) {
    ({ chart: this.chart, observer: this.observer } = mount(
      el,
      unit ? `${title} (${unit})` : title,
      SERIES_HEIGHT_PX,
      () => this.lines.size > 0,
    ));
  }

  /** Adds points given as [timestamp ms, value]; those not newer than the line's last are skipped. */
  append(name: string, points: readonly [number, number][]): void {
    if (points.length === 0) return;
    let line = this.lines.get(name);
    if (!line) {
      line = { start: points[0]![0], points: [] };
      this.lines.set(name, line);
    }
    const lastX = line.points.at(-1)?.[0] ?? Number.NEGATIVE_INFINITY;
    for (const [ts, v] of points) {
      const x = (ts - line.start) / 1000;
      if (x > lastX) line.points.push([x, v * this.scale]);
    }
    if (line.points.length > MAX_POINTS) line.points.splice(0, line.points.length - MAX_POINTS);
    this.schedule();
  }

  dispose(): void {
    this.observer.disconnect();
    this.chart.dispose();
  }

  private schedule(): void {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.draw();
    });
  }

  private draw(): void {
    const lines = [...this.lines].sort(([a], [b]) => a.localeCompare(b, undefined, { numeric: true }));
    this.chart.setOption(
      lineOption(
        lines.map(([name, l]) => ({ name, points: l.points })),
        this.unit,
      ),
      { notMerge: true },
    );
  }
}

export interface LiveHandlers {
  snapshot(s: RunSnapshot): void;
  result?(e: { result: { cellId: string; repetition: number; status: string }; cell?: CellView }): void;
  samples?(e: { series: SeriesChunk[] }): void;
  run?(r: RunSummary): void;
  end?(r: RunSummary): void;
}

/**
 * Follows a run's live stream until it ends (or `close` is called). A dropped connection
 * reconnects by itself (EventSource) and starts again from a snapshot.
 */
export function followRun(runId: string, h: LiveHandlers, opts: { samples?: boolean } = {}): () => void {
  const q = opts.samples === false ? '?samples=0' : '';
  const source = new EventSource(`/api/runs/${encodeURIComponent(runId)}/live${q}`);
  const on = <T>(event: string, f: ((data: T) => void) | undefined) => {
    if (f) source.addEventListener(event, (e) => f(JSON.parse((e as MessageEvent<string>).data) as T));
  };
  on('snapshot', h.snapshot);
  on('result', h.result);
  on('samples', h.samples);
  on('run', h.run);
  // Closed before the server ends the stream, so EventSource does not reconnect.
  source.addEventListener('end', (e) => {
    source.close();
    h.end?.(JSON.parse((e as MessageEvent<string>).data) as RunSummary);
  });
  return () => source.close();
}

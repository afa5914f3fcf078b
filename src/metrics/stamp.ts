/**
 * Turns readings into samples: adds the run, cell, repetition and host, a per-series
 * sequence number, and keeps each series' timestamps strictly increasing (two values of
 * one series in the same millisecond would otherwise be one document in a time-series
 * index, and the second would be counted as already stored).
 */
import type { MetricSample } from '../core/index.js';
import type { Reading } from './reading.js';

export interface SampleContext {
  runId: string;
  /** `''` and 0 between repetitions (or when several run at once on the machine). */
  cellId: string;
  repetition: number;
}

export class Stamper {
  private readonly series = new Map<string, { seq: number; last: number }>();

  constructor(private readonly host: string) {}

  stamp(r: Reading, ctx: SampleContext): MetricSample {
    const key = `${ctx.runId}\0${ctx.cellId}\0${ctx.repetition}\0${r.scope}\0${r.name}\0${r.containerId ?? ''}\0${r.device ?? ''}`;
    let s = this.series.get(key);
    if (!s) this.series.set(key, (s = { seq: 0, last: -Infinity }));
    const timestamp = r.timestamp > s.last ? r.timestamp : s.last + 1;
    s.last = timestamp;
    return {
      runId: ctx.runId,
      cellId: ctx.cellId,
      repetition: ctx.repetition,
      scope: r.scope,
      name: r.name,
      unit: r.unit,
      value: r.value,
      timestamp,
      seq: s.seq++,
      host: this.host,
      ...(r.containerId ? { containerId: r.containerId } : {}),
      ...(r.device ? { device: r.device } : {}),
    };
  }

  /** Forgets the series of a finished repetition (bounded memory over long runs). */
  forget(ctx: SampleContext): void {
    const prefix = `${ctx.runId}\0${ctx.cellId}\0${ctx.repetition}\0`;
    for (const key of this.series.keys()) if (key.startsWith(prefix)) this.series.delete(key);
  }
}

/**
 * Metric samples for the live views: which of those read are new to a stream (per series,
 * by sequence number, since collectors write late and out of order across series), and the
 * compact, thinned form they are sent in. Pure.
 */
import type { MetricSample } from '../core/index.js';
import { downsampleMinMax } from '../report/html/downsample.js';

/** One series of one repetition: its points as [timestamp ms, value], oldest first. */
export interface SeriesChunk {
  cellId: string;
  repetition: number;
  scope: MetricSample['scope'];
  name: string;
  unit: string;
  host: string;
  containerId?: string;
  device?: string;
  points: [number, number][];
}

/** Collectors' own cost is not something a viewer of a run watches. */
const LIVE_SCOPES: ReadonlySet<string> = new Set(['container', 'gpu', 'app', 'host']);

const seriesKey = (s: MetricSample) =>
  [s.cellId, s.repetition, s.scope, s.name, s.host, s.containerId ?? '', s.device ?? ''].join('\u0000');

/** Groups samples into series, each thinned to at most `maxPoints` (peaks kept). */
export function toChunks(samples: readonly MetricSample[], maxPoints: number): SeriesChunk[] {
  const series = new Map<string, { head: MetricSample; points: [number, number][] }>();
  for (const s of samples) {
    if (!LIVE_SCOPES.has(s.scope)) continue;
    const key = seriesKey(s);
    const entry = series.get(key) ?? { head: s, points: [] };
    entry.points.push([s.timestamp, s.value]);
    series.set(key, entry);
  }
  return [...series.values()].map(({ head, points }) => ({
    cellId: head.cellId,
    repetition: head.repetition,
    scope: head.scope,
    name: head.name,
    unit: head.unit,
    host: head.host,
    ...(head.containerId ? { containerId: head.containerId } : {}),
    ...(head.device ? { device: head.device } : {}),
    points: downsampleMinMax(
      points.sort((a, b) => a[0] - b[0]),
      maxPoints,
    ),
  }));
}

/**
 * What a stream has sent: the highest sequence number per series and the newest timestamp.
 * A read starts `lookbackMs` before that timestamp, so a series written late is not missed.
 */
export class SampleCursor {
  private readonly sent = new Map<string, number>();
  private newest = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly lookbackMs: number,
    startTs: number,
  ) {
    this.newest = startTs;
  }

  /** Where the next read starts (ms since the epoch). */
  get from(): number {
    return this.newest - this.lookbackMs;
  }

  /** The samples not sent yet, which are marked sent. */
  take(samples: readonly MetricSample[]): MetricSample[] {
    const fresh = samples.filter((s) => s.seq > (this.sent.get(seriesKey(s)) ?? -1));
    for (const s of fresh) {
      const key = seriesKey(s);
      this.sent.set(key, Math.max(s.seq, this.sent.get(key) ?? -1));
      this.newest = Math.max(this.newest, s.timestamp);
    }
    return fresh;
  }
}

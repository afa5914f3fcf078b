/**
 * The trend view's answers: the tags runs carry, and for one tag the history of every cell
 * and score across its runs (src/report/html/trend.ts), read from a ServeReader.
 */
import type { RepetitionResult, RunRecord } from '../core/index.js';
import { buildTrend, type TrendModel } from '../report/html/trend.js';
import type { ServeReader } from './ports.js';

/** How far back tags are looked for. */
const RUNS_SEARCHED = 1000;
/** Runs of a tag shown by default, the newest. */
export const TREND_RUNS = 30;
const MAX_CACHED = 8;

export interface TagSummary {
  tag: string;
  runs: number;
  /** The newest run's start (ISO 8601). */
  latest: string;
}

export class TrendApi {
  /** By tag and the runs it was made of: a finished history does not change. */
  private readonly cache = new Map<string, TrendModel>();

  constructor(private readonly reader: ServeReader) {}

  /** Every tag of the stored runs, the most recently used first. */
  async tags(): Promise<TagSummary[]> {
    const byTag = new Map<string, TagSummary>();
    for (const run of await this.reader.listRuns(RUNS_SEARCHED))
      for (const tag of run.tags ?? []) {
        const t = byTag.get(tag) ?? { tag, runs: 0, latest: run.startedAt };
        t.runs++;
        if (run.startedAt > t.latest) t.latest = run.startedAt;
        byTag.set(tag, t);
      }
    return [...byTag.values()].sort((a, b) => b.latest.localeCompare(a.latest) || a.tag.localeCompare(b.tag));
  }

  /** The newest `limit` runs with `tag` (running ones left out: their numbers are not final). */
  async trend(tag: string, limit = TREND_RUNS): Promise<TrendModel> {
    const runs: RunRecord[] = (await this.reader.listRuns(RUNS_SEARCHED))
      .filter((r) => r.tags?.includes(tag) && r.status !== 'running')
      .slice(0, limit);
    const key = JSON.stringify([tag, runs.map((r) => r.id)]);
    const cached = this.cache.get(key);
    if (cached) return cached;
    const results: RepetitionResult[] = (
      await Promise.all(runs.map((r) => this.reader.listResults({ runId: r.id })))
    ).flat();
    const model = buildTrend({ tag, runs, results });
    if (this.cache.size >= MAX_CACHED) this.cache.clear();
    this.cache.set(key, model);
    return model;
  }
}

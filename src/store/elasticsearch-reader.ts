/**
 * Reads runs and results back from Elasticsearch, so `compare` works on either store. A
 * sharded run is stored as one document per shard; it is read back as one run, its parts
 * added up as `run-shards.ts` says (the embedded store does the same when it writes).
 */
import { Client } from '@elastic/elasticsearch';
import type {
  MachineRecord,
  MetricSample,
  RepetitionResult,
  ResultQuery,
  ResultReader,
  RunRecord,
} from '../core/index.js';
import { machineFromDoc, resultFromDoc, runFromDoc, sampleFromDoc } from './elasticsearch-docs.js';
import { mergeShards, type ShardPart } from './run-shards.js';
import { esFailure } from './elasticsearch-store.js';
import { MACHINES_INDEX, RESULTS_INDEX, RUNS_INDEX } from './elasticsearch-templates.js';

/** Samples read per request. */
const PAGE = 5000;
const METRIC_STREAMS_PATTERN = 'metrics-benchyard.*';

/** Most results one query returns; a run with more repetitions needs paging (not yet). */
const MAX_HITS = 10_000;

export class ElasticsearchReader implements ResultReader {
  private readonly client: Client;

  constructor(readonly url: string) {
    this.client = new Client({ node: url, requestTimeout: 30_000 });
  }

  async listRuns(limit = 50): Promise<RunRecord[]> {
    // One hit per run (a sharded run has a document per shard), then every part of the sharded ones.
    const heads = (
      await this.search(
        RUNS_INDEX,
        { match_all: {} },
        limit,
        [{ started_at: 'desc' }, { 'run.id': 'desc' }],
        {
          collapse: { field: 'run.id' },
        },
      )
    ).map(runFromDoc);
    const sharded = heads.filter((r) => r.shard).map((r) => r.id);
    const parts =
      sharded.length > 0
        ? (await this.search(RUNS_INDEX, { terms: { 'run.id': sharded } }, MAX_HITS)).map(runFromDoc)
        : [];
    return heads
      .map((r) => (r.shard ? toRun(parts.filter((p) => p.id === r.id)) : r))
      .sort((a, b) => b.startedAt.localeCompare(a.startedAt) || b.id.localeCompare(a.id));
  }

  async getRun(id: string): Promise<RunRecord | undefined> {
    const docs = await this.search(RUNS_INDEX, { term: { 'run.id': id } }, MAX_HITS);
    return docs.length > 0 ? toRun(docs.map(runFromDoc)) : undefined;
  }

  async listResults(q: ResultQuery): Promise<RepetitionResult[]> {
    const query = q.runId ? { term: { 'run.id': q.runId } } : { match_all: {} };
    const docs = await this.search(RESULTS_INDEX, query, MAX_HITS, [
      { started_at: 'asc' },
      { 'cell.id': 'asc' },
      { repetition: 'asc' },
    ]);
    return docs.map(resultFromDoc);
  }

  /** A run's machines (all runs' when no run is given), by run then machine id, as SQLite lists them. */
  async listMachines(q: ResultQuery): Promise<MachineRecord[]> {
    const query = q.runId ? { term: { 'run.id': q.runId } } : { match_all: {} };
    const docs = await this.search(MACHINES_INDEX, query, MAX_HITS, [
      { 'run.id': 'asc' },
      { 'machine.id': 'asc' },
    ]);
    return docs.map(machineFromDoc);
  }

  /**
   * A run's samples from its metric data streams (all runs' without one; from `since` on
   * when given), ordered by time, read in pages of 5000 with `search_after`.
   */
  async listSamples(q: ResultQuery): Promise<MetricSample[]> {
    const filter: object[] = [
      ...(q.runId ? [{ term: { 'run.id': q.runId } }] : []),
      ...(q.since !== undefined
        ? [{ range: { '@timestamp': { gte: q.since, format: 'epoch_millis' } } }]
        : []),
    ];
    const out: MetricSample[] = [];
    let after: unknown[] | undefined;
    for (;;) {
      let hits: { _source?: unknown; sort?: unknown[] }[];
      try {
        const res = await this.client.search({
          index: METRIC_STREAMS_PATTERN,
          query: { bool: { filter } },
          size: PAGE,
          // Every dimension in the sort: no two samples tie, so no page boundary loses one.
          sort: [
            { '@timestamp': 'asc' },
            { 'event.sequence': 'asc' },
            { 'metric.name': 'asc' },
            { 'host.name': 'asc' },
            { 'cell.id': { order: 'asc', missing: '_first' } },
            { repetition: 'asc' },
            { 'container.id': { order: 'asc', missing: '_first' } },
            { 'metric.device': { order: 'asc', missing: '_first' } },
          ],
          ...(after ? { search_after: after } : {}),
          ignore_unavailable: true,
          expand_wildcards: 'all',
        } as never);
        hits = res.hits.hits;
      } catch (err) {
        throw esFailure(`reading metric samples from Elasticsearch at ${this.url}`, err);
      }
      for (const h of hits) out.push(sampleFromDoc(h._source as Record<string, unknown>));
      if (hits.length < PAGE) return out;
      after = hits.at(-1)!.sort;
    }
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  private async search(
    index: string,
    query: object,
    size: number,
    sort?: object[],
    extra: object = {},
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
  ): Promise<any[]> {
    try {
      const res = await this.client.search({
        index,
        query,
        size,
        ...(sort ? { sort } : {}),
        ...extra,
        ignore_unavailable: true,
      } as never);
      return res.hits.hits.map((h) => h._source);
    } catch (err) {
      throw esFailure(`reading ${index} from Elasticsearch at ${this.url}`, err);
    }
  }
}

/** A run's documents as one run: the one document of a run, or the parts of a sharded one. */
function toRun(docs: readonly RunRecord[]): RunRecord {
  const parts = docs.filter((d): d is ShardPart => d.shard !== undefined);
  return parts.length > 0 ? mergeShards(parts) : docs[0]!;
}

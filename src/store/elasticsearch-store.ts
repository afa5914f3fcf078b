/**
 * Elasticsearch adapter: installs its index templates, then writes runs, results, the runs'
 * machines, metric samples and container events through one `BulkSink` (batches, gzip,
 * retries, the disk spool). Runs, results, machines and events have deterministic ids and samples go to time-series
 * data streams, so a retried or replayed batch stores nothing twice.
 */
import { Client, errors } from '@elastic/elasticsearch';
import { randomBytes } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import {
  InfrastructureError,
  InputError,
  errorMessage,
  redact,
  type Logger,
  type MachineRecord,
  type MatrixCell,
  type MetricSample,
  type MetricSink,
  type MetricSinkStats,
  type RepetitionResult,
  type ResultStore,
  type RunRecord,
} from '../core/index.js';
import { BulkSink, type BulkSinkOptions } from './bulk-sink.js';
import { DiskSpool } from './spool.js';
import { machineDoc, resultDoc, runDoc, runDocId, sampleJson } from './elasticsearch-docs.js';
import { eventDoc, eventId } from './event-docs.js';
import type { ContainerEvent } from '../events/model.js';
import {
  DEFAULT_LOOK_BACK,
  EVENTS_INDEX,
  MACHINES_INDEX,
  METRIC_STREAMS,
  RESULTS_INDEX,
  RUNS_INDEX,
  templates,
  type TimeWindow,
} from './elasticsearch-templates.js';

export interface ElasticsearchStoreOptions extends Omit<BulkSinkOptions, 'spool'> {
  url: string;
  /** How old a sample may be and still be accepted (a replayed spool). @default '7d' */
  lookBack?: string;
  /**
   * Folder of spools (see spool.ts): this process spools to a subfolder of its own, and
   * spools that earlier, dead processes left here are sent first. None: memory only.
   */
  spoolRoot?: string;
  logger?: Logger;
}

export class ElasticsearchStore implements ResultStore, MetricSink {
  private constructor(
    private readonly client: Client,
    private readonly sink: BulkSink,
    private readonly spoolDir?: string,
  ) {}

  /** Connects, checks the server, installs the index templates, replays what a spool holds. */
  static async connect(opts: ElasticsearchStoreOptions): Promise<ElasticsearchStore> {
    const client = new Client({
      node: opts.url,
      requestTimeout: opts.requestTimeoutMs ?? 30_000,
      maxRetries: 3,
    });
    try {
      // Not `info()`: GET / lives in the rest-root module, which the test distribution lacks.
      await client.cluster.health({ timeout: '10s' }, { maxRetries: 1 });
      await installTemplates(client, {
        lookBack: opts.lookBack ?? DEFAULT_LOOK_BACK,
        managedBounds: await hasDataStreamsModule(client),
      });
    } catch (err) {
      await client.close().catch(() => undefined);
      throw esFailure(`Elasticsearch at ${opts.url}`, err);
    }
    const spoolOpts = opts.logger ? { logger: opts.logger } : {};
    if (opts.spoolRoot) await replayLeftovers(client, opts.spoolRoot, opts);
    const spoolDir =
      opts.spoolRoot && path.join(opts.spoolRoot, `${process.pid}-${randomBytes(3).toString('hex')}`);
    const spool = spoolDir ? await DiskSpool.open(spoolDir, spoolOpts) : undefined;
    return new ElasticsearchStore(
      client,
      new BulkSink(client, { ...opts, ...(spool ? { spool } : {}) }),
      spoolDir,
    );
  }

  async startRun(run: RunRecord, _cells: readonly MatrixCell[]): Promise<void> {
    if (run.shard) await this.checkJoinable(run, run.shard.total);
    this.sink.add(action('index', RUNS_INDEX, runDocId(run)), JSON.stringify(runDoc(run)));
    await this.sink.flush();
  }

  /**
   * A shard joins the parts other agents stored only if they are shards of the same
   * matrix in as many shards. (Two agents starting at the same instant with different
   * counts can both pass: the CLI checks before it runs, this is the last look.)
   */
  private async checkJoinable(run: RunRecord, total: number): Promise<void> {
    let docs: { run: { name: string }; shard?: { total: number } }[];
    try {
      const res = await this.client.search({
        index: RUNS_INDEX,
        query: { term: { 'run.id': run.id } },
        size: 1,
        ignore_unavailable: true,
      } as never);
      docs = res.hits.hits.map((h) => h._source as (typeof docs)[number]);
    } catch (err) {
      throw esFailure(`reading run '${run.id}' from Elasticsearch`, err);
    }
    const other = docs.find((d) => d.run.name !== run.name || d.shard?.total !== total);
    if (!other) return;
    throw new InputError(
      other.shard
        ? `run '${run.id}' is matrix '${other.run.name}' in ${other.shard.total} shards; shard ${run.shard?.index}/${total} of '${run.name}' cannot join it`
        : `run '${run.id}' exists and is not sharded: give the shards another --run-id`,
      { runId: run.id },
    );
  }

  async recordResult(r: RepetitionResult): Promise<void> {
    this.sink.add(
      action('index', RESULTS_INDEX, `${r.runId}:${r.cellId}:${r.repetition}`),
      JSON.stringify(resultDoc(r)),
    );
    await this.sink.flush();
  }

  /** One document per run and machine: recording it again replaces it. */
  async recordMachine(m: MachineRecord): Promise<void> {
    this.sink.add(
      action('index', MACHINES_INDEX, `${m.runId}:${m.machineId}`),
      JSON.stringify(machineDoc(m)),
    );
    await this.sink.flush();
  }

  async finishRun(run: RunRecord): Promise<void> {
    this.sink.add(action('index', RUNS_INDEX, runDocId(run)), JSON.stringify(runDoc(run)));
    await this.sink.flush();
    // Searchable when `run` returns, so a `compare --es` right after sees the whole run.
    if (this.sink.stats().spooledBatches === 0)
      await this.client.indices
        .refresh({ index: `${RESULTS_INDEX},${RUNS_INDEX},${MACHINES_INDEX}` })
        .catch(() => undefined);
  }

  write(samples: readonly MetricSample[]): void {
    for (const s of samples) this.sink.add(CREATE[s.scope], sampleJson(s));
  }

  /** Container events go out with the next batch (`flush` to wait for them). */
  recordEvents(events: readonly ContainerEvent[]): void {
    for (const e of events)
      this.sink.add(action('index', EVENTS_INDEX, eventId(e)), JSON.stringify(eventDoc(e)));
  }

  /** Resolves once everything written so far is stored or durably spooled. */
  async flush(): Promise<void> {
    await this.sink.flush();
  }

  stats(): MetricSinkStats {
    return this.sink.stats();
  }

  async close(): Promise<void> {
    try {
      await this.sink.close();
      // Everything reached Elasticsearch: the spool is empty and goes.
      if (this.spoolDir) await rm(this.spoolDir, { recursive: true, force: true });
    } finally {
      await this.client.close();
    }
  }
}

/** The `create` action line of each scope's stream (no `_id`: see sampleDoc). */
const CREATE = Object.fromEntries(
  Object.entries(METRIC_STREAMS).map(([scope, stream]) => [scope, action('create', stream)]),
) as Record<keyof typeof METRIC_STREAMS, string>;

function action(op: 'index' | 'create', index: string, id?: string): string {
  return JSON.stringify({ [op]: id === undefined ? { _index: index } : { _index: index, _id: id } });
}

async function installTemplates(client: Client, window: TimeWindow): Promise<void> {
  for (const [name, body] of Object.entries(templates(window))) {
    await client.indices.putIndexTemplate({ name, ...(body as object) } as never);
    // Indices made by an older benchyard get the fields added since (mappings only grow).
    await client.indices
      .putMapping({
        index: body.index_patterns[0],
        allow_no_indices: true,
        expand_wildcards: 'all',
        properties: body.template.mappings.properties,
      } as never)
      .catch((err: unknown) => {
        // A plain (pre time-series) metrics stream cannot take dimension mappings: it is rolled over below.
        if (!name.startsWith('metrics-')) throw err;
      });
  }
  for (const stream of new Set(Object.values(METRIC_STREAMS))) await upgradeToTimeSeries(client, stream);
}

/** A metrics stream an older benchyard created as a plain data stream gets a time-series write index. */
async function upgradeToTimeSeries(client: Client, stream: string): Promise<void> {
  const settings = (await client.indices
    .getSettings({ index: stream, name: 'index.mode,index.uuid', expand_wildcards: 'all' } as never)
    .catch(() => undefined)) as Record<string, { settings?: { index?: { mode?: string } } }> | undefined;
  if (!settings || Object.keys(settings).length === 0) return; // not created yet
  if (Object.values(settings).some((s) => s.settings?.index?.mode === 'time_series')) return;
  await client.indices.rollover({ alias: stream });
}

/**
 * Spools left by processes that died (killed, or Elasticsearch never came back) are sent
 * before this run starts, each for at most `drainMs`; a spool still locked by a live
 * process is left to it. Empty spools are removed.
 */
async function replayLeftovers(
  client: Client,
  root: string,
  opts: ElasticsearchStoreOptions,
  drainMs = 120_000,
): Promise<void> {
  const dirs = await readdir(root, { withFileTypes: true }).catch(() => []);
  for (const d of dirs.filter((e) => e.isDirectory())) {
    const dir = path.join(root, d.name);
    let spool: DiskSpool;
    try {
      spool = await DiskSpool.open(dir, opts.logger ? { logger: opts.logger } : {});
    } catch {
      continue; // in use by a live process
    }
    const { records, bytes } = spool.depth();
    if (records > 0)
      opts.logger?.info(`sending ${records} batches (${bytes} bytes) left in ${dir} by an earlier run`);
    const sink = new BulkSink(client, { ...opts, spool });
    try {
      await sink.close(drainMs);
      await rm(dir, { recursive: true, force: true });
    } catch (err) {
      opts.logger?.warn(`${dir}: ${errorMessage(err)}`);
    }
  }
}

/** The data-streams module answers `GET /_data_stream`; without it (the test distribution) the route is missing. */
async function hasDataStreamsModule(client: Client): Promise<boolean> {
  try {
    await client.transport.request({ method: 'GET', path: '/_data_stream' }, { maxRetries: 0 });
    return true;
  } catch (err) {
    return (err as { meta?: { statusCode?: number } }).meta?.statusCode === 404;
  }
}

export function esFailure(what: string, err: unknown): InfrastructureError {
  if (err instanceof errors.ProductNotSupportedError)
    return new InfrastructureError(
      `${what} is not Elasticsearch (the server lacks the X-Elastic-Product header)`,
    );
  const e = err as { message?: string; meta?: { statusCode?: number; body?: unknown } };
  const reason = (e.meta?.body as { error?: { reason?: string } } | undefined)?.error?.reason;
  return new InfrastructureError(
    `${what}: ${redact(reason ?? e.message ?? String(err))}`,
    {
      statusCode: e.meta?.statusCode,
    },
    { cause: err },
  );
}

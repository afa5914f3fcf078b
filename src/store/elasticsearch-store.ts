/**
 * Elasticsearch adapter: installs its index templates, then writes runs, results and
 * metric samples with the bulk API. Document ids are deterministic, so a retried batch
 * stores nothing twice (409 on a data-stream `create` counts as already stored).
 */
import { Client, errors } from '@elastic/elasticsearch';
import {
  InfrastructureError,
  redact,
  type MatrixCell,
  type MetricSample,
  type MetricSink,
  type RepetitionResult,
  type ResultStore,
  type RunRecord,
} from '../core/index.js';
import { resultDoc, runDoc, sampleDoc, sampleId } from './elasticsearch-docs.js';
import { CONTAINER_METRICS_STREAM, RESULTS_INDEX, RUNS_INDEX, TEMPLATES } from './elasticsearch-templates.js';

type BulkOp = [action: Record<string, unknown>, doc: Record<string, unknown>];

export interface ElasticsearchStoreOptions {
  url: string;
  /**
   * Pending operations that trigger a bulk request on their own.
   * @default 2000
   */
  maxPending?: number;
  /** @default 30000 */
  requestTimeoutMs?: number;
}

export class ElasticsearchStore implements ResultStore, MetricSink {
  private pending: BulkOp[] = [];
  private inflight: Promise<void> = Promise.resolve();
  private failure: Error | undefined;

  private constructor(
    private readonly client: Client,
    private readonly opts: ElasticsearchStoreOptions,
  ) {}

  /** Connects, checks the server, installs the index templates. */
  static async connect(opts: ElasticsearchStoreOptions): Promise<ElasticsearchStore> {
    const client = new Client({
      node: opts.url,
      requestTimeout: opts.requestTimeoutMs ?? 30_000,
      maxRetries: 3,
    });
    const store = new ElasticsearchStore(client, opts);
    try {
      // Not `info()`: GET / lives in the rest-root module, which the test distribution lacks.
      await client.cluster.health({ timeout: '10s' }, { maxRetries: 1 });
      for (const [name, body] of Object.entries(TEMPLATES)) {
        await client.indices.putIndexTemplate({ name, ...(body as object) } as never);
        // Indices made by an older benchyard get the fields added since (mappings only grow).
        await client.indices.putMapping({
          index: body.index_patterns[0],
          allow_no_indices: true,
          expand_wildcards: 'all',
          properties: body.template.mappings.properties,
        } as never);
      }
    } catch (err) {
      await client.close().catch(() => undefined);
      throw esFailure(`Elasticsearch at ${opts.url}`, err);
    }
    return store;
  }

  async startRun(run: RunRecord, _cells: readonly MatrixCell[]): Promise<void> {
    this.enqueue([{ index: { _index: RUNS_INDEX, _id: run.id } }, runDoc(run)]);
    await this.flush();
  }

  async recordResult(r: RepetitionResult): Promise<void> {
    this.enqueue([
      { index: { _index: RESULTS_INDEX, _id: `${r.runId}:${r.cellId}:${r.repetition}` } },
      resultDoc(r),
    ]);
    await this.flush();
  }

  async finishRun(run: RunRecord): Promise<void> {
    this.enqueue([{ index: { _index: RUNS_INDEX, _id: run.id } }, runDoc(run)]);
    await this.flush();
    // Searchable when `run` returns, so a `compare --es` right after sees the whole run.
    await this.client.indices.refresh({ index: `${RESULTS_INDEX},${RUNS_INDEX}` }).catch((err: unknown) => {
      this.failure ??= esFailure('refreshing Elasticsearch indices', err);
    });
  }

  write(samples: readonly MetricSample[]): void {
    for (const s of samples)
      this.pending.push([{ create: { _index: CONTAINER_METRICS_STREAM, _id: sampleId(s) } }, sampleDoc(s)]);
    if (this.pending.length >= (this.opts.maxPending ?? 2000)) void this.flush().catch(() => undefined);
  }

  /** Sends everything pending; rejects if any batch so far could not be stored. */
  async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    this.inflight = this.inflight.then(() => (batch.length > 0 ? this.send(batch) : undefined));
    await this.inflight;
    if (this.failure) throw this.failure;
  }

  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      await this.client.close();
    }
  }

  private enqueue(op: BulkOp): void {
    this.pending.push(op);
  }

  private async send(batch: BulkOp[]): Promise<void> {
    try {
      const res = await this.client.bulk({ operations: batch.flat(), refresh: false });
      if (!res.errors) return;
      const failed = res.items
        .map((item) => Object.values(item)[0]!)
        .filter((r) => r.error && r.status !== 409);
      if (failed.length > 0) {
        const first = failed[0]!;
        throw new InfrastructureError(
          `Elasticsearch rejected ${failed.length} of ${batch.length} documents; first: ${first.error?.type}: ${first.error?.reason} (index ${first._index})`,
          { index: first._index, status: first.status },
        );
      }
    } catch (err) {
      this.failure ??= err instanceof InfrastructureError ? err : esFailure('writing to Elasticsearch', err);
    }
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

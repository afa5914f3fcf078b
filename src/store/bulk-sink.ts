/**
 * benchyard's own batcher on the Elasticsearch `_bulk` API (not the client's bulk helper,
 * which flushes on an idle timer and loses the batch in flight when Elasticsearch is down).
 *
 * - A batch is sealed when it reaches `maxBatchBytes` or every `flushIntervalMs`, whichever
 *   comes first (a fixed period: a steady trickle still goes out on time).
 * - Bodies are gzipped (level 1); at most `maxInflight` requests at once.
 * - At-least-once: documents have deterministic identities (explicit ids, or the
 *   time-series id Elasticsearch derives from dimensions + timestamp), so a retried or
 *   replayed batch stores nothing twice; `409` counts as already stored.
 * - 429/5xx/unreachable: retried with exponential backoff; a batch that still fails goes to
 *   the on-disk spool, and from then on every batch goes there too (order is kept) until
 *   the replayer has sent the spool back, oldest first. Without a spool, batches wait in
 *   memory up to `maxMemoryBytes`, past which the oldest are dropped and counted.
 * - Documents Elasticsearch rejects for good (mapping errors, 4xx) are counted as dropped
 *   and reported; they are never retried forever.
 */
import type { Client } from '@elastic/elasticsearch';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { BulkBody } from './bulk-body.js';
import {
  InfrastructureError,
  silentLogger,
  systemClock,
  type Clock,
  type Logger,
  type MetricSinkStats,
} from '../core/index.js';

/** The spool the sink writes to when Elasticsearch is away (see spool.ts). */
export interface BatchSpool {
  /** Durable once resolved; rejects when the spool is full (the batch is then dropped and counted). */
  append(body: string, docs: number): Promise<void>;
  /** The oldest batch not yet acknowledged. */
  peek(): Promise<{ id: unknown; body: string; docs: number } | undefined>;
  ack(id: unknown): Promise<void>;
  depth(): { records: number; bytes: number };
  close(): Promise<void>;
}

export interface BulkSinkOptions {
  /** @default 10_000 */
  flushIntervalMs?: number;
  /** @default 2 MiB */
  maxBatchBytes?: number;
  /** @default 3 */
  maxInflight?: number;
  /** Bytes held in memory (building, queued, in flight) before batches go to the spool or are dropped. @default 64 MiB */
  maxMemoryBytes?: number;
  /** Attempts per batch before it goes to the spool. @default 4 */
  attempts?: number;
  /** First backoff; doubles per attempt, with jitter, up to `maxBackoffMs`. @default 250 */
  backoffMs?: number;
  /** @default 30_000 */
  maxBackoffMs?: number;
  /** @default 30_000 */
  requestTimeoutMs?: number;
  spool?: BatchSpool;
  clock?: Clock;
  logger?: Logger;
}

const gzip = promisify(zlib.gzip);

interface Batch {
  body: BulkBody;
  /** What the batch counts against `maxMemoryBytes` (its lines' lengths), until released. */
  bytes: number;
}

type Outcome =
  { kind: 'stored' } | { kind: 'retry'; body: BulkBody; reason: string } | { kind: 'failed'; reason: string };

export class BulkSink {
  private current: Batch = { body: new BulkBody(), bytes: 0 };
  private readonly queue: Batch[] = [];
  private inflight = 0;
  private memoryBytes = 0;
  private spooling = false;
  private replaying: Promise<void> | undefined;
  private readonly closing = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private idleWaiters: (() => void)[] = [];
  private readonly counters = { sent: 0, dropped: 0, retries: 0, backoffMs: 0, spooled: 0 };
  private rejection: string | undefined;
  private readonly o: Required<Omit<BulkSinkOptions, 'spool'>> & { spool?: BatchSpool };

  constructor(
    private readonly client: Client,
    opts: BulkSinkOptions = {},
  ) {
    this.o = {
      flushIntervalMs: 10_000,
      maxBatchBytes: 2 * 1024 * 1024,
      maxInflight: 3,
      maxMemoryBytes: 64 * 1024 * 1024,
      attempts: 4,
      backoffMs: 250,
      maxBackoffMs: 30_000,
      requestTimeoutMs: 30_000,
      clock: systemClock,
      logger: silentLogger,
      ...opts,
    };
    this.timer = setInterval(() => this.seal(), this.o.flushIntervalMs);
    this.timer.unref();
    // Whatever an earlier run left in the spool goes out first.
    if ((this.o.spool?.depth().records ?? 0) > 0) this.startReplay();
  }

  /** Adds one operation: its action line and document (already serialized, no newlines). */
  add(action: string, doc: string): void {
    const bytes = action.length + doc.length + 2;
    this.current.body.line(action);
    this.current.body.line(doc);
    this.current.bytes += bytes;
    this.memoryBytes += bytes;
    if (this.current.bytes >= this.o.maxBatchBytes) this.seal();
  }

  /**
   * Seals what is pending and resolves once every batch sealed so far is stored, spooled
   * or dropped. Throws if Elasticsearch rejected documents for good since the last flush.
   */
  async flush(): Promise<void> {
    this.seal();
    await this.idle();
    if (this.rejection) {
      const reason = this.rejection;
      this.rejection = undefined;
      throw new InfrastructureError(`Elasticsearch rejected documents: ${reason}`);
    }
  }

  /**
   * Sends what is pending and gives Elasticsearch up to `drainMs` to take it and the spool.
   * Then what is still unsent goes to the spool (sent by the next run that opens it), or,
   * without a spool, is dropped. Throws when anything was left behind or dropped.
   */
  async close(drainMs = 30_000): Promise<void> {
    clearInterval(this.timer);
    this.seal();
    const deadline = this.o.clock.now() + drainMs;
    while (!(this.isIdle() && this.pendingInSpool() === 0) && this.o.clock.now() < deadline)
      await this.o.clock.sleep(50);
    this.closing.abort();
    await this.idle();
    await this.replaying;
    const left = this.o.spool?.depth();
    await this.o.spool?.close();
    if (left && left.records > 0)
      throw new InfrastructureError(
        `Elasticsearch did not take everything: ${left.records} batches (${left.bytes} bytes) wait in the spool and are sent by the next run that uses it`,
      );
    if (this.counters.dropped > 0)
      throw new InfrastructureError(
        `${this.counters.dropped} documents could not be stored in Elasticsearch: ${this.rejection ?? 'see the log'}`,
      );
  }

  stats(): MetricSinkStats & { sent: number } {
    const depth = this.o.spool?.depth() ?? { records: 0, bytes: 0 };
    return {
      spooledBatches: depth.records,
      spooledBytes: depth.bytes,
      memoryBytes: this.memoryBytes,
      dropped: this.counters.dropped,
      retries: this.counters.retries,
      backoffMs: this.counters.backoffMs,
      sent: this.counters.sent,
    };
  }

  private pendingInSpool(): number {
    return this.o.spool?.depth().records ?? 0;
  }

  private seal(): void {
    if (this.current.body.ops === 0) return;
    const batch = this.current;
    this.current = { body: new BulkBody(), bytes: 0 };
    this.queue.push(batch);
    this.shedMemory();
    this.pump();
  }

  /** Too much in memory: the oldest queued batches go to the spool, or are dropped without one. */
  private shedMemory(): void {
    while (this.memoryBytes > this.o.maxMemoryBytes && this.queue.length > 0) {
      const oldest = this.queue.shift()!;
      if (this.o.spool) void this.toSpool(oldest);
      else {
        this.release(oldest);
        this.drop(oldest.body.ops, 'memory limit reached while Elasticsearch was unavailable');
      }
    }
  }

  private pump(): void {
    while (this.inflight < this.o.maxInflight && this.queue.length > 0) {
      const batch = this.queue.shift()!;
      if (this.spooling && this.o.spool) {
        void this.toSpool(batch);
        continue;
      }
      this.inflight++;
      void this.deliver(batch).finally(() => {
        this.inflight--;
        this.release(batch);
        this.pump();
        this.notifyIdle();
      });
    }
    this.notifyIdle();
  }

  /** Sends a batch, retrying what Elasticsearch could not take yet; spools it when that keeps failing. */
  private async deliver(batch: Batch): Promise<void> {
    let body = batch.body;
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.send(body);
      if (outcome.kind !== 'retry') return;
      body = outcome.body;
      const spool = this.o.spool;
      if (this.closing.signal.aborted || (spool && attempt >= this.o.attempts)) {
        if (!spool) this.drop(body.ops, `Elasticsearch unavailable when closing (${outcome.reason})`);
        else {
          if (!this.spooling)
            this.o.logger.warn(`Elasticsearch unavailable (${outcome.reason}); spooling to disk`);
          await this.toSpool({ body, bytes: 0 });
        }
        return;
      }
      await this.backoff(attempt);
    }
  }

  private async toSpool(batch: Batch): Promise<void> {
    this.spooling = true;
    this.inflight++;
    try {
      await this.o.spool!.append(batch.body.text(), batch.body.ops);
      this.counters.spooled++;
    } catch (err) {
      this.drop(batch.body.ops, `spool refused the batch: ${String(err)}`);
    } finally {
      this.inflight--;
      if (batch.bytes > 0) this.release(batch);
      this.startReplay();
      this.notifyIdle();
    }
  }

  /** Sends the spool back oldest first, backing off while Elasticsearch stays away. */
  private startReplay(): void {
    this.replaying ??= (async () => {
      const spool = this.o.spool!;
      let failures = 0;
      while (!this.closing.signal.aborted) {
        const rec = await spool.peek();
        if (!rec) {
          if (this.inflight === 0 || !this.spooling) break;
          await this.o.clock.sleep(50).catch(() => undefined);
          continue;
        }
        const outcome = await this.send(BulkBody.fromText(rec.body));
        if (outcome.kind === 'retry') {
          await this.backoff(++failures).catch(() => undefined);
          continue;
        }
        failures = 0;
        await spool.ack(rec.id);
      }
      this.spooling = false;
      this.replaying = undefined;
      if (spool.depth().records > 0 && !this.closing.signal.aborted) this.startReplay();
      this.pump();
    })();
  }

  /** One `_bulk` request; what to do next depends on the answer as a whole and per item. */
  private async send(batch: BulkBody): Promise<Outcome> {
    let res: {
      errors: boolean;
      items?: Record<string, { status: number; error?: { type?: string; reason?: string } }>[];
    };
    try {
      // gzip level 1: most of the size gain for a fraction of the default level's CPU, which
      // is taken from the machine being measured.
      const body = await gzip(batch.bytes(), { level: 1 });
      res = (await this.client.transport.request(
        {
          method: 'POST',
          path: '/_bulk',
          bulkBody: body,
          querystring: { filter_path: 'errors,items.*.status,items.*.error.type,items.*.error.reason' },
        },
        {
          compression: false,
          headers: { 'content-encoding': 'gzip' },
          maxRetries: 0,
          requestTimeout: this.o.requestTimeoutMs,
        },
      )) as typeof res;
    } catch (err) {
      const status = (err as { meta?: { statusCode?: number } }).meta?.statusCode;
      const reason = status ? `HTTP ${status}` : (err as Error).message;
      if (!status || status === 408 || status === 429 || status >= 500)
        return { kind: 'retry', body: batch, reason };
      this.drop(batch.ops, `request refused: ${reason}`);
      return { kind: 'failed', reason };
    }
    if (!res.errors) {
      this.counters.sent += batch.ops;
      return { kind: 'stored' };
    }
    const again: number[] = [];
    let rejected = 0;
    let firstRejection = '';
    (res.items ?? []).forEach((item, i) => {
      const r = Object.values(item)[0]!;
      if (r.status < 300 || r.status === 409) this.counters.sent++;
      else if (r.status === 429 || r.status >= 500) again.push(i);
      else {
        rejected++;
        firstRejection ||= `${r.error?.type}: ${r.error?.reason}`;
      }
    });
    if (rejected > 0) this.drop(rejected, firstRejection);
    return again.length > 0
      ? { kind: 'retry', body: batch.pick(again), reason: 'some documents were refused with 429/5xx' }
      : { kind: 'stored' };
  }

  private async backoff(attempt: number): Promise<void> {
    const base = Math.min(this.o.maxBackoffMs, this.o.backoffMs * 2 ** (attempt - 1));
    const ms = Math.round(base / 2 + (Math.random() * base) / 2);
    this.counters.retries++;
    this.counters.backoffMs += ms;
    await this.o.clock.sleep(ms, this.closing.signal).catch(() => undefined);
  }

  private drop(docs: number, reason: string): void {
    this.counters.dropped += docs;
    this.rejection ??= `${docs} documents: ${reason}`;
    this.o.logger.warn(`Elasticsearch: ${docs} documents not stored: ${reason}`);
  }

  private release(batch: Batch): void {
    this.memoryBytes -= batch.bytes;
    batch.bytes = 0;
  }

  private idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private isIdle(): boolean {
    return this.queue.length === 0 && this.inflight === 0;
  }

  private notifyIdle(): void {
    if (!this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}

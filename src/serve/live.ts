/**
 * Live streams of runs (GET /api/runs/:id/live): one poller per run, shared by every
 * client watching it, that reads the store for what is new since it last looked and
 * broadcasts it; it stops when the last client leaves or the run finishes.
 *
 * Events: `snapshot` (RunSnapshot) on connect; `result` ({ result, cell }) per new result;
 * `samples` ({ series: SeriesChunk[] }) at most once per `samplesMs`; `run` (RunSummary)
 * when it changes; `end` (RunSummary) when the run is finished. Events may repeat what a
 * snapshot already holds (a result by cell and repetition, a point by timestamp): clients
 * apply them idempotently.
 */
import type { ServerResponse } from 'node:http';
import { errorMessage, type Clock, type Logger } from '../core/index.js';
import { RunsApi } from './api.js';
import { SampleCursor, toChunks } from './samples.js';
import { sseFrame, SseClient } from './sse.js';
import { resultKey, resultView } from './views.js';

export interface LiveOptions {
  /** How often the store is read for new rows (ms). @default 500 */
  pollMs?: number;
  /** At most one `samples` event per this many ms. @default 1000 */
  samplesMs?: number;
  /** A comment line this often keeps proxies from closing an idle stream (ms). @default 15000 */
  heartbeatMs?: number;
  /** A client with more than this waiting in its socket is dropped (bytes). @default 1 MiB */
  maxBufferedBytes?: number;
  /** Points per series in one `samples` event. @default 120 */
  maxPointsPerSeries?: number;
}

/** Samples are read from this long before the newest one sent: collectors write late (ms). */
const LOOKBACK_MS = 30_000;

export class LiveHub {
  private readonly feeds = new Map<string, RunFeed>();
  private closed = false;
  private readonly opts: Required<LiveOptions>;

  constructor(
    private readonly api: RunsApi,
    private readonly clock: Clock,
    private readonly logger: Logger,
    opts: LiveOptions = {},
  ) {
    this.opts = {
      pollMs: opts.pollMs ?? 500,
      samplesMs: opts.samplesMs ?? 1000,
      heartbeatMs: opts.heartbeatMs ?? 15_000,
      maxBufferedBytes: opts.maxBufferedBytes ?? 1024 * 1024,
      maxPointsPerSeries: opts.maxPointsPerSeries ?? 120,
    };
  }

  /** Clients watching now, over all runs. */
  get clients(): number {
    return [...this.feeds.values()].reduce((n, f) => n + f.clients.size, 0);
  }

  /**
   * Streams run `runId` to `res`: false (nothing written) when there is no such run.
   * The client joins the run's feed before its snapshot is read, so nothing falls between.
   */
  async attach(runId: string, res: ServerResponse, opts: { samples?: boolean } = {}): Promise<boolean> {
    if (this.closed) return false;
    let feed = this.feeds.get(runId);
    if (!feed) {
      feed = new RunFeed(runId, this.api, this.clock, this.logger, this.opts, () => {
        if (this.feeds.get(runId) === feed) this.feeds.delete(runId);
      });
      this.feeds.set(runId, feed);
    }
    const client = new SseClient(res, this.opts.maxBufferedBytes, () => feed.leave(client));
    client.wantsSamples = opts.samples ?? true;
    feed.join(client);
    try {
      await feed.ready;
      const snapshot = await this.api.snapshot(runId);
      if (!snapshot || client.isClosed) {
        feed.leave(client);
        return snapshot !== undefined;
      }
      client.open();
      client.release(sseFrame('snapshot', client.wantsSamples ? snapshot : { ...snapshot, samples: [] }));
      if (snapshot.run.status !== 'running') {
        client.send('end', snapshot.run);
        client.end();
      } else if (feed.stopped) {
        // The hub closed while the snapshot was read.
        client.end();
      }
      return true;
    } catch (err) {
      feed.leave(client);
      throw err;
    }
  }

  /** Ends every stream and stops every poller. */
  close(): void {
    this.closed = true;
    for (const feed of [...this.feeds.values()]) feed.stop();
    this.feeds.clear();
  }
}

class RunFeed {
  readonly clients = new Set<SseClient>();
  readonly ready: Promise<void>;
  private readonly stopper = new AbortController();
  private readonly sent = new Set<string>();
  private cursor!: SampleCursor;
  private lastRun = '';
  private lastSamplesAt = 0;
  private lastHeartbeatAt: number;
  private samplesBroken = false;
  private lastError = '';

  constructor(
    private readonly runId: string,
    private readonly api: RunsApi,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly opts: Required<LiveOptions>,
    private readonly onStop: () => void,
  ) {
    this.lastHeartbeatAt = clock.now();
    // What is stored now is in each client's snapshot: the feed sends only what comes after.
    this.ready = this.baseline();
    void this.ready.then(
      () => this.loop(),
      () => this.stop(),
    );
  }

  join(client: SseClient): void {
    this.clients.add(client);
  }

  leave(client: SseClient): void {
    this.clients.delete(client);
    if (this.clients.size === 0) this.stop();
  }

  get stopped(): boolean {
    return this.stopper.signal.aborted;
  }

  stop(): void {
    if (this.stopper.signal.aborted) return;
    this.stopper.abort();
    // A client still waiting for its snapshot is ended by attach, after the snapshot.
    for (const c of [...this.clients]) if (c.isReleased) c.end();
    this.clients.clear();
    this.onStop();
  }

  private async baseline(): Promise<void> {
    for (const r of await this.api.results(this.runId)) this.sent.add(resultKey(r));
    this.cursor = new SampleCursor(LOOKBACK_MS, this.clock.now());
    try {
      this.cursor.take(await this.api.samplesSince(this.runId, this.cursor.from));
    } catch (err) {
      this.samplesBroken = true;
      this.logger.debug(`run ${this.runId}: no live samples: ${errorMessage(err)}`);
    }
  }

  private async loop(): Promise<void> {
    const signal = this.stopper.signal;
    while (!signal.aborted) {
      try {
        await this.clock.sleep(this.opts.pollMs, signal);
      } catch {
        return;
      }
      try {
        await this.poll();
        this.lastError = '';
      } catch (err) {
        // Once per distinct failure, not every poll.
        const message = errorMessage(err);
        if (message !== this.lastError)
          this.logger.warn(`live view of run ${this.runId}: reading the store failed: ${message}`);
        this.lastError = message;
      }
    }
  }

  private async poll(): Promise<void> {
    const results = await this.api.results(this.runId);
    const fresh = results.filter((r) => !this.sent.has(resultKey(r)));
    const detail = await this.api.detail(this.runId, results);
    if (!detail || this.stopper.signal.aborted) return;
    for (const r of fresh) {
      this.sent.add(resultKey(r));
      this.broadcast('result', { result: resultView(r), cell: detail.cells.find((c) => c.id === r.cellId) });
    }
    const finished = detail.run.status !== 'running';
    const now = this.clock.now();
    if (!this.samplesBroken && (finished || now - this.lastSamplesAt >= this.opts.samplesMs)) {
      this.lastSamplesAt = now;
      const samples = this.cursor.take(await this.api.samplesSince(this.runId, this.cursor.from));
      if (samples.length > 0)
        this.broadcast('samples', { series: toChunks(samples, this.opts.maxPointsPerSeries) });
    }
    const run = JSON.stringify(detail.run);
    if (run !== this.lastRun) {
      this.lastRun = run;
      this.broadcast('run', detail.run);
    }
    if (finished) {
      this.broadcast('end', detail.run);
      return this.stop();
    }
    if (now - this.lastHeartbeatAt >= this.opts.heartbeatMs) {
      this.lastHeartbeatAt = now;
      for (const c of this.clients) c.heartbeat();
    }
  }

  private broadcast(event: string, data: unknown): void {
    for (const c of [...this.clients]) if (event !== 'samples' || c.wantsSamples) c.send(event, data);
  }
}

/**
 * Follows one machine's Docker engine event stream (containers of one session) and
 * publishes each event once. When the stream ends or fails it reconnects with backoff,
 * asking the engine for the events since the last one it saw (less a small overlap), and
 * skips those it already published: nothing is lost or published twice across a gap the
 * engine still remembers (it keeps its last 256 events).
 */
import type Docker from 'dockerode';
import {
  InfrastructureError,
  LABELS,
  errorMessage,
  silentLogger,
  systemClock,
  type Clock,
  type Logger,
} from '../core/index.js';
import { dockerMessage } from '../engine/index.js';
import { LineSplitter } from './json-lines.js';
import { RecentSet } from './recent-set.js';
import { parseEngineEvent } from './engine-event.js';
import type { ContainerEvent } from './model.js';

/** The one engine call the source makes (a `Docker` has it). */
export interface EventsApi {
  getEvents(options: Docker.GetEventsOptions): Promise<NodeJS.ReadableStream>;
}

export interface DockerEventSourceOptions {
  docker: EventsApi;
  machineId: string;
  /** Host name on the events. @default machineId */
  host?: string;
  /** Only containers labelled with this session are followed. */
  session: string;
  publish: (event: ContainerEvent) => void;
  /**
   * First event time to ask for, ms since the epoch on the engine's clock. Earlier than
   * now so that a controller clock ahead of the machine's, and the moment between the
   * engine answering and subscribing, lose nothing. @default 10 s before now
   */
  since?: number;
  /** Re-asked on reconnect, for events the engine logged slightly out of order. @default 1000 */
  resumeOverlapMs?: number;
  /** First reconnect delay; doubles per failed attempt, with jitter. @default 250 */
  backoffMs?: number;
  /** @default 30_000 */
  maxBackoffMs?: number;
  clock?: Clock;
  logger?: Logger;
}

export interface DockerEventSourceStats {
  published: number;
  /** Events seen again after a reconnect and skipped. */
  duplicates: number;
  /** Lines that were not a container event. */
  malformed: number;
  reconnects: number;
}

/** A stream up this long counts as a working connection. */
const STEADY_MS = 60_000;

/** Events remembered to skip repeats after a reconnect: more than any overlap holds. */
const RECENT_KEYS = 4096;

export class DockerEventSource implements AsyncDisposable {
  private readonly stopping = new AbortController();
  private readonly recent = new RecentSet(RECENT_KEYS);
  private readonly counters: DockerEventSourceStats = {
    published: 0,
    duplicates: 0,
    malformed: 0,
    reconnects: 0,
  };
  private lastNano: bigint;
  private current: NodeJS.ReadableStream | undefined;
  private loop: Promise<void> = Promise.resolve();
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly what: string;

  private constructor(private readonly o: DockerEventSourceOptions) {
    this.clock = o.clock ?? systemClock;
    this.logger = o.logger ?? silentLogger;
    this.lastNano = BigInt(Math.floor(o.since ?? this.clock.now() - 10_000)) * 1_000_000n;
    this.what = `docker events of ${o.machineId}`;
  }

  /** Connects and follows; rejects when the engine does not answer the first time. */
  static async start(opts: DockerEventSourceOptions): Promise<DockerEventSource> {
    const source = new DockerEventSource(opts);
    let first: NodeJS.ReadableStream;
    try {
      first = await source.open(source.lastNano);
    } catch (err) {
      throw new InfrastructureError(
        `cannot follow the ${source.what}: ${dockerMessage(err)}`,
        { machine: opts.machineId },
        { cause: err },
      );
    }
    source.loop = source.follow(first);
    return source;
  }

  stats(): DockerEventSourceStats {
    return { ...this.counters };
  }

  /** Stops following; idempotent. */
  async close(): Promise<void> {
    this.stopping.abort();
    (this.current as { destroy?: () => void } | undefined)?.destroy?.();
    await this.loop;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private open(sinceNano: bigint): Promise<NodeJS.ReadableStream> {
    // ms precision is enough: the overlap and the skip list cover the rest.
    const since = Number(sinceNano / 1_000_000n) / 1000;
    return this.o.docker.getEvents({
      since,
      filters: { type: ['container'], label: [`${LABELS.session}=${this.o.session}`] },
      abortSignal: this.stopping.signal,
    });
  }

  private async follow(first: NodeJS.ReadableStream): Promise<void> {
    let stream: NodeJS.ReadableStream | undefined = first;
    let failures = 0;
    while (!this.stopping.signal.aborted) {
      if (stream) {
        const before = this.counters.published;
        const connectedAt = this.clock.now();
        const why = await this.consume(stream);
        if (this.stopping.signal.aborted) break;
        // A stream that carried events, or stayed up a while, was a success: back off from scratch.
        if (this.counters.published > before || this.clock.now() - connectedAt > STEADY_MS) failures = 0;
        this.logger.warn(`${this.what}: stream ${why}; reconnecting`, { machine: this.o.machineId });
        stream = undefined;
      }
      await this.clock.sleep(this.backoff(++failures), this.stopping.signal).catch(() => undefined);
      if (this.stopping.signal.aborted) break;
      const overlap = BigInt(this.o.resumeOverlapMs ?? 1000) * 1_000_000n;
      try {
        stream = await this.open(this.lastNano - overlap);
        this.counters.reconnects++;
        this.logger.info(`${this.what}: reconnected`, { machine: this.o.machineId });
      } catch (err) {
        if (!this.stopping.signal.aborted)
          this.logger.warn(`${this.what}: reconnect failed: ${dockerMessage(err)}`, {
            machine: this.o.machineId,
          });
      }
    }
    // Closed just as a reconnect answered: that stream was never read.
    (stream as { destroy?: () => void } | undefined)?.destroy?.();
  }

  /** Reads a stream until it ends, fails or is closed; says which. */
  private consume(stream: NodeJS.ReadableStream): Promise<string> {
    this.current = stream;
    const lines = new LineSplitter();
    return new Promise<string>((resolve) => {
      let done = false;
      const finish = (why: string) => {
        if (done) return;
        done = true;
        for (const line of lines.end()) this.line(line);
        this.counters.malformed += lines.overlong;
        stream.removeListener('data', onData);
        (stream as { destroy?: () => void }).destroy?.();
        this.current = undefined;
        resolve(why);
      };
      const onData = (chunk: Buffer | string) => {
        for (const line of lines.push(chunk)) this.line(line);
      };
      stream.on('data', onData);
      stream.on('end', () => finish('ended'));
      stream.on('close', () => finish('closed'));
      // Kept after `finish`: a late error of a destroyed socket must not go unhandled.
      stream.on('error', (err: unknown) => finish(`failed (${dockerMessage(err)})`));
    });
  }

  private line(line: string): void {
    const event = parseEngineEvent(line, this.o.machineId, this.o.host ?? this.o.machineId);
    if (!event) {
      this.counters.malformed++;
      return;
    }
    const key = `${event.containerId}:${event.action}:${event.timeNano}`;
    if (this.recent.has(key)) {
      this.counters.duplicates++;
      return;
    }
    this.recent.add(key);
    const nano = BigInt(event.timeNano);
    if (nano > this.lastNano) this.lastNano = nano;
    this.counters.published++;
    try {
      this.o.publish(event);
    } catch (err) {
      this.logger.error(`${this.what}: publishing failed: ${errorMessage(err)}`);
    }
  }

  private backoff(attempt: number): number {
    const base = Math.min(this.o.maxBackoffMs ?? 30_000, (this.o.backoffMs ?? 250) * 2 ** (attempt - 1));
    return Math.round(base / 2 + (Math.random() * base) / 2);
  }
}

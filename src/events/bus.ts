/**
 * A small typed event bus. Each subscriber gets every event in publish order, one at a
 * time, from a queue of its own: a slow subscriber holds back nobody else, a failing one
 * is logged and skipped, and `publish` never waits for or throws from a handler.
 */
import { errorMessage, silentLogger, type Logger } from '../core/index.js';

export type Handler<T> = (event: T) => void | Promise<void>;

export interface EventBusOptions<T> {
  logger?: Logger;
  /**
   * Events waiting per subscriber; past it the oldest are dropped and counted.
   * @default 10_000
   */
  maxQueued?: number;
  /** How an event is named in log lines. @default String(event) */
  describe?: (event: T) => string;
}

export interface EventBusStats {
  published: number;
  /** Handler calls that threw or rejected. */
  failures: number;
  /** Events a subscriber never saw because its queue was full. */
  dropped: number;
}

interface Subscriber<T> {
  name: string;
  handler: Handler<T>;
  queue: T[];
  running: Promise<void> | undefined;
  active: boolean;
  /** Set while the queue overflows, so it is logged once per episode. */
  overflowing: boolean;
}

export class EventBus<T> {
  private readonly subscribers = new Set<Subscriber<T>>();
  private readonly counters: EventBusStats = { published: 0, failures: 0, dropped: 0 };
  private readonly logger: Logger;
  private readonly maxQueued: number;
  private readonly describe: (event: T) => string;

  constructor(opts: EventBusOptions<T> = {}) {
    this.logger = opts.logger ?? silentLogger;
    this.maxQueued = opts.maxQueued ?? 10_000;
    if (!Number.isInteger(this.maxQueued) || this.maxQueued < 1)
      throw new RangeError(`maxQueued must be a positive integer, got ${opts.maxQueued}`);
    this.describe = opts.describe ?? String;
  }

  /** Adds a subscriber; the returned function removes it (events still queued for it are dropped). */
  subscribe(name: string, handler: Handler<T>): () => void {
    const sub: Subscriber<T> = {
      name,
      handler,
      queue: [],
      running: undefined,
      active: true,
      overflowing: false,
    };
    this.subscribers.add(sub);
    return () => {
      sub.active = false;
      sub.queue.length = 0;
      this.subscribers.delete(sub);
    };
  }

  publish(event: T): void {
    this.counters.published++;
    for (const sub of this.subscribers) {
      sub.queue.push(event);
      if (sub.queue.length > this.maxQueued) {
        sub.queue.shift();
        this.counters.dropped++;
        if (!sub.overflowing)
          this.logger.warn(`${sub.name} is behind by ${this.maxQueued} events; dropping the oldest`);
        sub.overflowing = true;
      }
      sub.running ??= this.work(sub);
    }
  }

  /** Resolves once every subscriber has handled every event published so far (and those they published). */
  async drain(): Promise<void> {
    for (;;) {
      const running = [...this.subscribers].map((s) => s.running).filter((p) => p !== undefined);
      if (running.length === 0) return;
      await Promise.all(running);
    }
  }

  stats(): EventBusStats {
    return { ...this.counters };
  }

  private async work(sub: Subscriber<T>): Promise<void> {
    await null; // handlers run after `publish` returns, never on the publisher's stack
    while (sub.active && sub.queue.length > 0) {
      const event = sub.queue.shift()!;
      if (sub.queue.length === 0) sub.overflowing = false;
      try {
        await sub.handler(event);
      } catch (err) {
        this.counters.failures++;
        this.logger.warn(`${sub.name} failed on ${this.describe(event)}: ${errorMessage(err)}`, {
          subscriber: sub.name,
        });
      }
    }
    sub.running = undefined;
  }
}

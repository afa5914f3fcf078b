import { systemClock, type Clock } from '../core/index.js';

/** Cancels an idle timer once its taker woke (a shared reason: no DOMException per wake). */
const WOKEN = Object.freeze(new Error('woken'));

/** How much a queue still holds (what the membership watch sizes a target by). */
export interface QueueDepth {
  readonly pending: number;
  readonly pendingGroups: number;
}

/** What `take` answers when it waited its idle time without an item. */
export const IDLE = Symbol('idle');

/**
 * The cells of one target, shared by every machine of that target. A machine takes the
 * next item when it has a free slot; an item can come back (its machine broke) and is
 * then taken by another machine. `take` waits while items are out that may come back,
 * and answers `undefined` once nothing is queued and nothing is out.
 */
export class WorkQueue<T> implements QueueDepth {
  private readonly items: T[] = [];
  private out = 0;
  private closed = false;
  private waiters: (() => void)[] = [];

  /**
   * `groupOf`: what an item belongs to (a cell, when its repetitions are separate items):
   * `pendingGroups` counts those, e.g. how many cells still wait for a machine.
   */
  constructor(
    items: Iterable<T>,
    private readonly clock: Clock = systemClock,
    private readonly groupOf: (item: T) => unknown = (item) => item,
  ) {
    this.items.push(...items);
  }

  /**
   * The next item; `undefined` once nothing is queued and nothing is out (or on abort or
   * close); `IDLE` when `idleMs` passed while waiting for items that are out to come back.
   */
  async take(signal: AbortSignal, idleMs?: number): Promise<T | undefined | typeof IDLE> {
    const idleAt = idleMs === undefined ? Infinity : this.clock.now() + idleMs;
    for (;;) {
      if (signal.aborted || this.closed) return undefined;
      const item = this.items.shift();
      if (item !== undefined) {
        this.out++;
        return item;
      }
      if (this.out === 0) return undefined;
      const left = idleAt - this.clock.now();
      if (left <= 0) return IDLE;
      await new Promise<void>((resolve) => {
        const timer = new AbortController();
        const wake = () => {
          timer.abort(WOKEN);
          signal.removeEventListener('abort', wake);
          this.waiters = this.waiters.filter((w) => w !== wake);
          resolve();
        };
        if (Number.isFinite(left)) this.clock.sleep(left, timer.signal).then(wake, () => undefined);
        this.waiters.push(wake);
        signal.addEventListener('abort', wake, { once: true });
      });
    }
  }

  /**
   * The item taken is finished. Nothing new can be taken, so takers wake only once nothing
   * is out (they then end): waking all of them on every finished item costs machines² at a
   * run's end.
   */
  done(): void {
    this.out--;
    if (this.out === 0) this.wake();
  }

  /** The item taken goes back to the front of the queue for another machine. */
  giveBack(item: T): void {
    this.out--;
    this.items.unshift(item);
    this.wake();
  }

  /** A new item at the end of the queue (an adaptive extension of a cell). */
  add(item: T): void {
    if (this.closed) return;
    this.items.push(item);
    this.wake();
  }

  /** Nothing more is handed out (a cell failed the run, or it was cancelled). */
  close(): void {
    this.closed = true;
    this.items.length = 0;
    this.wake();
  }

  get pending(): number {
    return this.items.length;
  }

  /** Distinct groups (cells) among the queued items. */
  get pendingGroups(): number {
    return new Set(this.items.map(this.groupOf)).size;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

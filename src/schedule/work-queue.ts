/** What `take` answers when it waited its idle time without an item. */
export const IDLE = Symbol('idle');

/**
 * The cells of one target, shared by every machine of that target. A machine takes the
 * next item when it has a free slot; an item can come back (its machine broke) and is
 * then taken by another machine. `take` waits while items are out that may come back,
 * and answers `undefined` once nothing is queued and nothing is out.
 */
export class WorkQueue<T> {
  private readonly items: T[] = [];
  private out = 0;
  private closed = false;
  private waiters: (() => void)[] = [];

  constructor(items: Iterable<T>) {
    this.items.push(...items);
  }

  /**
   * The next item; `undefined` once nothing is queued and nothing is out (or on abort or
   * close); `IDLE` when `idleMs` passed while waiting for items that are out to come back.
   */
  async take(signal: AbortSignal, idleMs?: number): Promise<T | undefined | typeof IDLE> {
    const idleAt = idleMs === undefined ? Infinity : Date.now() + idleMs;
    for (;;) {
      if (signal.aborted || this.closed) return undefined;
      const item = this.items.shift();
      if (item !== undefined) {
        this.out++;
        return item;
      }
      if (this.out === 0) return undefined;
      const left = idleAt - Date.now();
      if (left <= 0) return IDLE;
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          signal.removeEventListener('abort', wake);
          this.waiters = this.waiters.filter((w) => w !== wake);
          resolve();
        };
        const timer = Number.isFinite(left) ? setTimeout(wake, left) : undefined;
        this.waiters.push(wake);
        signal.addEventListener('abort', wake, { once: true });
      });
    }
  }

  /** The item taken is finished. */
  done(): void {
    this.out--;
    this.wake();
  }

  /** The item taken goes back to the front of the queue for another machine. */
  giveBack(item: T): void {
    this.out--;
    this.items.unshift(item);
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

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

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

  async take(signal: AbortSignal): Promise<T | undefined> {
    for (;;) {
      if (signal.aborted || this.closed) return undefined;
      const item = this.items.shift();
      if (item !== undefined) {
        this.out++;
        return item;
      }
      if (this.out === 0) return undefined;
      await new Promise<void>((resolve) => {
        const wake = () => {
          signal.removeEventListener('abort', wake);
          resolve();
        };
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

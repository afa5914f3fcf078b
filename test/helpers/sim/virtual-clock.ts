/**
 * A clock for simulations: time only moves when nothing else can happen. `drive(p)` runs
 * the event loop until every promise that can settle has settled, then jumps to the next
 * timer, until `p` settles. A scheduler test of hours of benchmarks runs in milliseconds,
 * and its timing is exact (no real timer takes part).
 */
import type { Clock } from '../../../src/core/index.js';

interface Timer {
  at: number;
  seq: number;
  fire: () => void;
  cancelled: boolean;
}

export class VirtualClock implements Clock {
  private t: number;
  private seq = 0;
  /** A binary min-heap by (at, seq): simulations of 100,000 repetitions keep many timers. */
  private heap: Timer[] = [];
  /** Timers fired so far (how much simulated work happened). */
  fired = 0;
  /** Real work in flight (see `hold`), each with the simulated time it may lag behind. */
  private readonly holds = new Set<{ until: number; settled: Promise<void> }>();

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const timer: Timer = {
        at: this.t + Math.max(0, ms),
        seq: this.seq++,
        cancelled: false,
        fire: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        timer.cancelled = true;
        // It stays in the heap until its time; what waited on it need not (a repetition's
        // 1 h timeout would keep the whole repetition alive for an hour of simulated time).
        timer.fire = noop;
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.push(timer);
    });
  }

  /**
   * Real work the simulation waits for (a request to a real store, e.g. Elasticsearch):
   * until it settles, `drive` and `advance` move simulated time at most `lagMs` past now,
   * so a real round trip of a few milliseconds is not minutes of simulated time (and a
   * simulation whose only pending work is real I/O waits for it instead of being stuck).
   * Answers `work`.
   */
  hold<T>(work: Promise<T>, lagMs = 0): Promise<T> {
    const h = { until: this.t + lagMs, settled: work.then(noop, noop) };
    this.holds.add(h);
    void h.settled.then(() => this.holds.delete(h));
    return work;
  }

  /** Timers waiting (cancelled ones not counted). */
  get pending(): number {
    return this.heap.filter((t) => !t.cancelled).length;
  }

  /**
   * Runs until `work` settles, jumping to the next timer whenever the event loop is idle.
   * Throws when nothing can happen any more and `work` is still pending (a deadlock), or
   * past `limitMs` of simulated time.
   */
  async drive<T>(work: Promise<T>, limitMs = 365 * 24 * 3_600_000): Promise<T> {
    let settled = false;
    const outcome = work.finally(() => (settled = true));
    outcome.catch(() => undefined);
    const end = this.t + limitMs;
    for (;;) {
      await idle();
      if (settled) return outcome;
      if (await this.heldBefore(this.peek()?.at ?? Infinity)) continue;
      const next = this.pop();
      if (!next)
        throw new Error(`simulation stuck at +${this.t}: nothing scheduled and the work did not settle`);
      if (next.at > end) throw new Error(`simulation ran past its limit of ${limitMs} ms`);
      this.t = Math.max(this.t, next.at);
      this.fired++;
      next.fire();
    }
  }

  /** Lets everything that can happen now happen (no time passes). */
  settle(): Promise<void> {
    return idle();
  }

  /** Moves time forward by `ms`, firing the timers due on the way, in order. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await idle();
      if (await this.heldBefore(Math.min(this.peek()?.at ?? Infinity, end))) continue;
      const next = this.peek();
      if (!next || next.at > end) break;
      this.pop();
      this.t = Math.max(this.t, next.at);
      this.fired++;
      next.fire();
    }
    this.t = end;
    await idle();
  }

  /** Waits for some real work if time may not reach `at` before it settles; answers whether it waited. */
  private async heldBefore(at: number): Promise<boolean> {
    if (this.holds.size === 0) return false;
    let until = Infinity;
    for (const h of this.holds) until = Math.min(until, h.until);
    if (at <= until) return false;
    await Promise.race([...this.holds].map((h) => h.settled));
    return true;
  }

  private push(timer: Timer): void {
    const h = this.heap;
    h.push(timer);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  private peek(): Timer | undefined {
    while (this.heap[0]?.cancelled) this.removeTop();
    return this.heap[0];
  }

  private pop(): Timer | undefined {
    const top = this.peek();
    if (top) this.removeTop();
    return top;
  }

  private removeTop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && before(h[l]!, h[m]!)) m = l;
      if (r < h.length && before(h[r]!, h[m]!)) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}

function noop(): void {}

function before(a: Timer, b: Timer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/** A few turns of the event loop: every promise chain that can move, moves. */
async function idle(): Promise<void> {
  for (let i = 0; i < 4; i++) await new Promise<void>((r) => setImmediate(r));
}

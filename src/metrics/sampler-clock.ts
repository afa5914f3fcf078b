/**
 * The one sampler clock of a machine: ticks at t0 + k·interval (no drift), reads every
 * collector concurrently on each tick, and never overlaps ticks: a tick due while the
 * previous one is still reading is skipped and counted, rather than bunching up.
 */
import { systemClock, type Clock, type Logger } from '../core/index.js';
import type { Collector, Reading } from './reading.js';

export interface TickStats {
  ticks: number;
  missed: number;
  /** How late each tick started against its schedule, ms (since the last `takeStats`). */
  latenciesMs: number[];
}

export const MIN_INTERVAL_MS = 100;
export const MAX_INTERVAL_MS = 60_000;

export class SamplerClock {
  private readonly collectors = new Set<Collector>();
  private readonly stop$ = new AbortController();
  private loop: Promise<void> | undefined;
  private stats: TickStats = { ticks: 0, missed: 0, latenciesMs: [] };
  private paused = false;

  constructor(
    private readonly intervalMs: number,
    private readonly onReadings: (readings: readonly Reading[]) => void,
    private readonly clock: Clock = systemClock,
    private readonly logger?: Logger,
  ) {
    if (!(intervalMs >= MIN_INTERVAL_MS && intervalMs <= MAX_INTERVAL_MS))
      throw new RangeError(`sampling interval ${intervalMs} ms is outside ${MIN_INTERVAL_MS} ms – 60 s`);
  }

  /** Reads `collector` on every tick from now on; with `readNow`, also once at once (a container that just started). */
  add(collector: Collector, readNow = false): void {
    this.collectors.add(collector);
    if (readNow)
      void collector
        .collect(this.clock.now())
        .then((r) => r.length > 0 && this.onReadings(r))
        .catch((err: unknown) => this.logger?.debug(`collector failed: ${String(err)}`));
  }

  /** Stops reading `collector`; its last values were read on the last tick. */
  remove(collector: Collector): void {
    this.collectors.delete(collector);
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stop$.abort();
    await this.loop;
    await Promise.all([...this.collectors].map((c) => c.close?.().catch(() => undefined)));
  }

  /** Reads nothing until `resume` (the clock keeps its schedule; paused slots are not counted). */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
  }

  /** Tick statistics since the last call. */
  takeStats(): TickStats {
    const s = this.stats;
    this.stats = { ticks: 0, missed: 0, latenciesMs: [] };
    return s;
  }

  /** Reads every collector once, now (also used by the loop). */
  async tick(at: number): Promise<void> {
    const results = await Promise.allSettled([...this.collectors].map((c) => c.collect(at)));
    const readings: Reading[] = [];
    for (const r of results) {
      if (r.status === 'fulfilled') readings.push(...r.value);
      else this.logger?.debug(`collector failed: ${String(r.reason)}`);
    }
    if (readings.length > 0) this.onReadings(readings);
  }

  private async run(): Promise<void> {
    const signal = this.stop$.signal;
    let due = this.clock.now();
    while (!signal.aborted) {
      const at = this.clock.now();
      if (!this.paused) {
        this.stats.ticks++;
        this.stats.latenciesMs.push(Math.max(0, at - due));
        await this.tick(at);
      }
      due += this.intervalMs;
      const now = this.clock.now();
      if (now > due) {
        // Overran: skip the slots already past instead of firing them back to back.
        const skipped = Math.ceil((now - due) / this.intervalMs);
        this.stats.missed += skipped;
        due += skipped * this.intervalMs;
      }
      try {
        await this.clock.sleep(due - this.clock.now(), signal);
      } catch {
        return;
      }
    }
  }
}

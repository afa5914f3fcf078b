/** Turns cumulative counters into rates: no value on the first reading or after a reset, never a spike. */
export class Rates {
  private readonly prev = new Map<string, { at: number; value: number }>();

  /** Change of counter `key` since its last reading, and the time between; undefined on a first reading or reset. */
  delta(key: string, value: number, at: number): { delta: number; ms: number } | undefined {
    const before = this.prev.get(key);
    this.prev.set(key, { at, value });
    if (!before || at <= before.at || value < before.value || !Number.isFinite(value)) return undefined;
    return { delta: value - before.value, ms: at - before.at };
  }

  /** Per-second rate of counter `key`; undefined on a first reading or reset. */
  perSecond(key: string, value: number, at: number): number | undefined {
    const d = this.delta(key, value, at);
    return d && (d.delta * 1000) / d.ms;
  }
}

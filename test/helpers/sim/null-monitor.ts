/** A `Monitor` that samples nothing and counts what it was asked (starts, watches, pauses, stops). */
import type { ContainerWatch, Monitor } from '../../../src/metrics/index.js';

export class CountingMonitor implements Monitor {
  starts = 0;
  stops = 0;
  watches = 0;
  quiesced = 0;
  /** Containers being watched now. */
  private watching = 0;

  constructor(readonly machine: string) {}

  async start(): Promise<void> {
    this.starts++;
  }
  watch(): ContainerWatch {
    this.watches++;
    this.watching++;
    return {
      line: () => {},
      lines: () => {},
      finish: async () => {
        this.watching--;
        return { samples: 0 };
      },
    };
  }
  async quiesce(): Promise<(() => void) | undefined> {
    if (this.watching > 0) return undefined;
    this.quiesced++;
    return () => {};
  }
  async stop(): Promise<void> {
    this.stops++;
  }
}

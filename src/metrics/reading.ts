/**
 * What collectors produce. A collector knows what it measured and when; the machine
 * monitor stamps each reading with the run, cell, repetition, host and a per-series
 * sequence number, and turns it into a `MetricSample`.
 */
import type { MetricScope } from '../core/index.js';

export interface Reading {
  scope: MetricScope;
  /** ECS-aligned name, e.g. `host.cpu.usage.pct`, `gpu.power.draw.watts`. */
  name: string;
  unit: string;
  value: number;
  /** Milliseconds since the epoch: when the value was read. */
  timestamp: number;
  containerId?: string;
  /** The device within the scope: a GPU uuid, a disk, a network interface. */
  device?: string;
}

/**
 * A polled collector, read on each tick of the machine's one sampler clock. It keeps
 * whatever state it needs to turn counters into rates: the first call and a counter that
 * went backwards yield no value for that series, never a spike.
 */
export interface Collector {
  readonly name: string;
  /** Reads once. `at` is the tick's time (ms since the epoch); stamp readings with it. */
  collect(at: number): Promise<readonly Reading[]>;
  close?(): Promise<void>;
}

/** A source that produces readings on its own schedule (nvidia-smi -lms, container output lines). */
export interface PushSource {
  readonly name: string;
  start(emit: (readings: readonly Reading[]) => void): void;
  /** Stops producing; resolves once nothing more will be emitted and any child process has exited. */
  stop(): Promise<void>;
  /** Stops producing (and any child process) until `resume`; sources without it keep producing. */
  pause?(): Promise<void>;
  resume?(): void;
}

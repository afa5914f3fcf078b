/**
 * Samples one container's cgroup on a fixed clock while it runs. The first reading only
 * primes the CPU counter (a rate needs two points), and a counter that goes backwards
 * yields no value, never a spike.
 */
import {
  systemClock,
  type Clock,
  type Logger,
  type MetricSample,
  type MetricsSummary,
} from '../core/index.js';
import { cgroupOf, type CgroupReading } from './cgroup.js';

export interface SampleContext {
  runId: string;
  cellId: string;
  repetition: number;
  containerId: string;
  host: string;
}

export interface ContainerSamplerOptions {
  intervalMs: number;
  emit: (samples: MetricSample[]) => void;
  clock?: Clock;
  logger?: Logger;
  /** Root of /proc and /sys, for tests. */
  fsRoot?: string;
}

export class ContainerSampler {
  private readonly stop = new AbortController();
  private loop: Promise<void> = Promise.resolve();
  private seq = { cpu: 0, memory: 0 };
  private stats = { samples: 0, cpuSum: 0, cpuCount: 0, cpuMax: 0, memMax: 0 };

  constructor(
    private readonly ctx: SampleContext,
    private readonly opts: ContainerSamplerOptions,
  ) {}

  /** Starts sampling the cgroup of `pid`; a pid of 0 (already exited) samples nothing. */
  start(pid: number): void {
    if (pid > 0) this.loop = this.run(pid);
  }

  /** Stops sampling and waits for the loop to end; returns the summary of what was seen. */
  async finish(): Promise<MetricsSummary> {
    this.stop.abort();
    await this.loop;
    const s = this.stats;
    return {
      samples: s.samples,
      ...(s.cpuCount > 0 ? { cpuCoresMean: s.cpuSum / s.cpuCount, cpuCoresMax: s.cpuMax } : {}),
      ...(s.samples > 0 ? { memoryBytesMax: s.memMax } : {}),
    };
  }

  private async run(pid: number): Promise<void> {
    const clock = this.opts.clock ?? systemClock;
    let files;
    try {
      files = await cgroupOf(pid, this.opts.fsRoot);
    } catch (err) {
      // The container may have exited before we looked: nothing to sample.
      this.opts.logger?.debug(`no cgroup for container ${this.ctx.containerId.slice(0, 12)}: ${String(err)}`);
      return;
    }
    let prev: { at: number; reading: CgroupReading } | undefined;
    let next = clock.now();
    while (!this.stop.signal.aborted) {
      let reading: CgroupReading;
      const at = clock.now();
      try {
        reading = await files.read();
      } catch {
        return; // cgroup removed: the container is gone
      }
      this.emit(at, reading, prev);
      prev = { at, reading };
      next += this.opts.intervalMs;
      try {
        await clock.sleep(Math.max(0, next - clock.now()), this.stop.signal);
      } catch {
        return;
      }
    }
  }

  private emit(at: number, reading: CgroupReading, prev?: { at: number; reading: CgroupReading }): void {
    const base = {
      runId: this.ctx.runId,
      cellId: this.ctx.cellId,
      repetition: this.ctx.repetition,
      containerId: this.ctx.containerId,
      host: this.ctx.host,
      scope: 'container' as const,
      timestamp: at,
    };
    const out: MetricSample[] = [
      {
        ...base,
        name: 'container.memory.usage.bytes',
        unit: 'bytes',
        value: reading.memoryBytes,
        seq: this.seq.memory++,
      },
    ];
    this.stats.samples++;
    this.stats.memMax = Math.max(this.stats.memMax, reading.memoryBytes);
    if (prev && at > prev.at && reading.cpuNs >= prev.reading.cpuNs) {
      const cores = (reading.cpuNs - prev.reading.cpuNs) / 1e6 / (at - prev.at);
      out.push({
        ...base,
        name: 'container.cpu.usage.cores',
        unit: 'cores',
        value: cores,
        seq: this.seq.cpu++,
      });
      this.stats.cpuSum += cores;
      this.stats.cpuCount++;
      this.stats.cpuMax = Math.max(this.stats.cpuMax, cores);
    }
    this.opts.emit(out);
  }
}

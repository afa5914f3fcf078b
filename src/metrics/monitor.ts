/**
 * Everything measured on one machine during a run: one sampler clock reading the machine
 * collectors (host) and a collector per running container, push sources (GPUs), the
 * lines benchmarks print, and the collectors' own cost. Readings are stamped with the
 * repetition they belong to and handed to the sink.
 *
 * Quiet mode holds samples in memory while a repetition runs and hands them over when it
 * ends, so nothing is written or sent during a measured phase (bounded: past
 * `quietMaxSamples` they go out anyway, counted as `collector.quiet.overflow`).
 *
 * The same class runs in the controller (local machine) and in the agent container on a
 * remote machine; only the sink differs.
 *
 * Each repetition's summary carries the energy the machine drew while it ran (energy.ts):
 * the counters of collectors that keep them (RAPL, through the host collector) read when
 * the watch starts and when it finishes, and every GPU's power samples integrated over the
 * same span. Machine-wide: repetitions running at once on one machine each see all of it.
 */
import {
  silentLogger,
  systemClock,
  type Clock,
  type Logger,
  type MetricSample,
  type MetricSinkStats,
  type MetricsSummary,
} from '../core/index.js';
import { quantile } from 'simple-statistics';
import { parseAppLine } from './app-lines.js';
import { ContainerCollector } from './container-collector.js';
import { isEnergyCounters, RepetitionEnergy, type EnergyCounters, type PowerPoint } from './energy.js';
import type { HealthProbe, MachineHealth } from './health-watch.js';
import type { Collector, PushSource, Reading } from './reading.js';
import { SamplerClock } from './sampler-clock.js';
import { Stamper, type SampleContext } from './stamp.js';

export interface SampleOutput {
  write(samples: readonly MetricSample[]): void;
  stats?(): MetricSinkStats | undefined;
}

export interface MonitorOptions {
  host: string;
  intervalMs: number;
  output: SampleOutput;
  /** Polled for the whole run (e.g. the host collector). */
  collectors?: readonly Collector[];
  /** Producing on their own schedule for the whole run (e.g. nvidia-smi). */
  sources?: readonly PushSource[];
  /** Where the machine's /proc and /sys are (`/host` in the agent). @default '/' */
  fsRoot?: string;
  /**
   * Read containers' cgroup files; false where this process cannot see them (a remote
   * machine without the agent: only the lines benchmarks print are recorded).
   * @default true
   */
  containers?: boolean;
  quiet?: boolean;
  /** @default 100_000 */
  quietMaxSamples?: number;
  /** Period of the self-monitoring samples. @default 10_000 */
  selfIntervalMs?: number;
  clock?: Clock;
  logger?: Logger;
  /** The machine's hardware health around each repetition; it sees every reading. */
  health?: MachineHealth;
}

/** One container of one repetition being watched. */
export interface ContainerWatch {
  /** A line the container printed; `@benchyard metric=` lines become samples at once. */
  line(text: string): void;
  /** Lines the container printed, in order: their samples are handed to the sink in one write. */
  lines(texts: readonly string[]): void;
  /** Stops watching; the summary of what was seen. */
  finish(): Promise<MetricsSummary>;
}

/** What the scheduler needs of a machine's metrics, in-process or through the agent. */
export interface Monitor {
  start(runId: string): Promise<void>;
  watch(ctx: SampleContext, container: { id: string; pid: number }): ContainerWatch;
  /**
   * Stops all sampling of the machine (collectors, push sources such as nvidia-smi, self
   * monitoring) until the returned function resumes it: a control repetition measures
   * what the benchmark scores with no collector running. Undefined while a container is
   * watched (its samples must not stop) or where the monitor cannot pause.
   */
  quiesce?(): Promise<(() => void) | undefined>;
  /** Snapshots before and after a repetition and the samples between; absent: not judged. */
  readonly health?: HealthProbe;
  stop(): Promise<void>;
}

interface Watch {
  ctx: SampleContext;
  collector: ContainerCollector;
  summary: { samples: number; cpuSum: number; cpuCount: number; cpuMax: number; memMax: number };
  energy: RepetitionEnergy;
}

const GPU_POWER = 'gpu.power.draw.watts';

export class MachineMonitor implements Monitor {
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly sampler: SamplerClock;
  private readonly stamper: Stamper;
  private readonly watches = new Map<string, Watch>();
  private runId: string | undefined;
  private held: MetricSample[] = [];
  private selfLoop: Promise<void> | undefined;
  private readonly stopping = new AbortController();
  private counters = { samples: 0, quietOverflow: 0 };
  /** Set while a control repetition runs with sampling off. */
  private resumeSampling: (() => void) | undefined;
  private cpuMark = process.cpuUsage();
  private timeMark: number;
  private readonly energyCounters: readonly EnergyCounters[];
  private readonly gpuSource: boolean;
  /** Every GPU that gave a reading this run, and each one's latest power sample. */
  private readonly gpus = new Set<string>();
  private readonly lastPower = new Map<string, PowerPoint>();

  constructor(private readonly opts: MonitorOptions) {
    this.clock = opts.clock ?? systemClock;
    this.logger = opts.logger ?? silentLogger;
    this.stamper = new Stamper(opts.host);
    this.sampler = new SamplerClock(opts.intervalMs, (r) => this.ingest(r), this.clock, this.logger);
    for (const c of opts.collectors ?? []) this.sampler.add(c);
    this.timeMark = this.clock.now();
    this.energyCounters = (opts.collectors ?? []).filter(isEnergyCounters);
    this.gpuSource = (opts.sources ?? []).some((s) => s.name.startsWith('gpu:'));
  }

  /** Starts sampling for run `runId`; machine-wide readings before the first repetition count as between repetitions. */
  async start(runId: string): Promise<void> {
    this.runId = runId;
    this.sampler.start();
    for (const s of this.opts.sources ?? []) s.start((r) => this.ingest(r));
    this.selfLoop ??= this.selfMonitor();
  }

  /** Watches one repetition's container (its host pid) until `finish`. */
  watch(ctx: SampleContext, container: { id: string; pid: number }): ContainerWatch {
    const collector = new ContainerCollector(container.id, container.pid, this.opts.fsRoot);
    const w: Watch = {
      ctx,
      collector,
      summary: { samples: 0, cpuSum: 0, cpuCount: 0, cpuMax: 0, memMax: 0 },
      // A gap longer than a few intervals is a stream that stopped, not a slow sample.
      energy: new RepetitionEnergy(
        this.clock.now(),
        this.energyCounters,
        this.lastPower,
        Math.max(3 * this.opts.intervalMs, this.opts.intervalMs + 2000),
      ),
    };
    if (this.resumeSampling) {
      // Another cell's container on this machine: its samples matter more than a quiet control.
      this.logger.warn(
        'a container started while a control repetition ran with sampling off; sampling resumed (that control repetition is not collector-free)',
      );
      this.resumeSampling();
    }
    this.watches.set(container.id, w);
    if (this.opts.containers !== false) this.sampler.add(collector, true);
    return {
      line: (text) => {
        const r = parseAppLine(text, this.clock.now(), container.id);
        if (r) this.ingest([r]);
      },
      lines: (texts) => {
        const at = this.clock.now();
        const readings = texts.flatMap((t) => parseAppLine(t, at, container.id) ?? []);
        if (readings.length > 0) this.ingest(readings);
      },
      finish: async () => {
        const energy = w.energy.finish(this.clock.now(), [...this.gpus], this.gpuSource);
        this.sampler.remove(collector);
        await collector.close();
        this.watches.delete(container.id);
        if (this.watches.size === 0) this.release();
        this.stamper.forget(ctx);
        const s = w.summary;
        return {
          samples: s.samples,
          ...(s.cpuCount > 0 ? { cpuCoresMean: s.cpuSum / s.cpuCount, cpuCoresMax: s.cpuMax } : {}),
          ...(s.samples > 0 ? { memoryBytesMax: s.memMax } : {}),
          ...(await energy),
        };
      },
    };
  }

  async quiesce(): Promise<(() => void) | undefined> {
    if (this.watches.size > 0 || this.resumeSampling || this.stopping.signal.aborted) return undefined;
    this.sampler.pause();
    const sources = (this.opts.sources ?? []).filter((s) => s.pause && s.resume);
    const resume = () => {
      if (this.resumeSampling !== resume) return;
      this.resumeSampling = undefined;
      this.sampler.resume();
      if (!this.stopping.signal.aborted) for (const s of sources) s.resume!();
    };
    this.resumeSampling = resume;
    await Promise.all(sources.map((s) => s.pause!()));
    this.lastPower.clear(); // a sample from before the pause must not stand for the time after it
    return resume;
  }

  get health(): HealthProbe | undefined {
    return this.opts.health;
  }

  /** Stops every collector and source and hands over what is held. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await Promise.all([this.sampler.stop(), ...(this.opts.sources ?? []).map((s) => s.stop())]);
    this.opts.health?.close();
    await this.selfLoop;
    this.emitSelf();
    this.release();
  }

  private ingest(readings: readonly Reading[]): void {
    if (this.runId === undefined) return;
    this.opts.health?.observe(readings);
    const machineCtx = this.machineContext();
    const out: MetricSample[] = [];
    for (const r of readings) {
      if (r.scope === 'gpu' && r.device) this.gpuReading(r.device, r);
      const w = r.containerId !== undefined ? this.watches.get(r.containerId) : undefined;
      if (r.containerId !== undefined && !w) continue; // a container no longer watched
      if (w) this.summarize(w, r);
      out.push(this.stamper.stamp(r, w?.ctx ?? machineCtx));
    }
    this.counters.samples += out.length;
    if (this.opts.quiet && this.watches.size > 0) {
      this.held.push(...out);
      if (this.held.length > (this.opts.quietMaxSamples ?? 100_000)) {
        this.counters.quietOverflow += this.held.length;
        this.release();
      }
      return;
    }
    this.opts.output.write(out);
  }

  /** Machine-wide readings belong to the repetition running, when exactly one is. */
  private machineContext(): SampleContext {
    if (this.watches.size === 1) return [...this.watches.values()][0]!.ctx;
    return { runId: this.runId!, cellId: '', repetition: 0 };
  }

  private gpuReading(device: string, r: Reading): void {
    this.gpus.add(device);
    if (r.name !== GPU_POWER) return;
    const p = { t: r.timestamp, watts: r.value };
    for (const w of this.watches.values()) w.energy.power(device, p);
    this.lastPower.set(device, p);
  }

  private summarize(w: Watch, r: Reading): void {
    const s = w.summary;
    if (r.name === 'container.memory.usage.bytes') {
      s.samples++;
      s.memMax = Math.max(s.memMax, r.value);
    } else if (r.name === 'container.cpu.usage.cores') {
      s.cpuSum += r.value;
      s.cpuCount++;
      s.cpuMax = Math.max(s.cpuMax, r.value);
    }
  }

  private release(): void {
    if (this.held.length === 0) return;
    const held = this.held;
    this.held = [];
    this.opts.output.write(held);
  }

  private async selfMonitor(): Promise<void> {
    const period = this.opts.selfIntervalMs ?? 10_000;
    while (!this.stopping.signal.aborted) {
      try {
        await this.clock.sleep(period, this.stopping.signal);
      } catch {
        return;
      }
      if (!this.resumeSampling) this.emitSelf();
    }
  }

  /** The collectors' own cost since the last self sample: CPU, tick lateness, misses, sink state. */
  private emitSelf(): void {
    const at = this.clock.now();
    const cpu = process.cpuUsage(this.cpuMark);
    this.cpuMark = process.cpuUsage();
    const seconds = (cpu.user + cpu.system) / 1e6;
    const elapsed = Math.max(1, at - this.timeMark) / 1000;
    this.timeMark = at;
    const ticks = this.sampler.takeStats();
    const values: [string, string, number | undefined][] = [
      ['collector.cpu.seconds', 's', seconds],
      ['collector.cpu.pct', 'pct', (100 * seconds) / elapsed],
      ['collector.ticks.count', 'count', ticks.ticks],
      ['collector.ticks.missed', 'count', ticks.missed],
      [
        'collector.sample.latency.p99.ms',
        'ms',
        ticks.latenciesMs.length ? quantile(ticks.latenciesMs, 0.99) : undefined,
      ],
      [
        'collector.sample.latency.max.ms',
        'ms',
        ticks.latenciesMs.length ? Math.max(...ticks.latenciesMs) : undefined,
      ],
      ['collector.samples.count', 'count', this.counters.samples],
      ['collector.quiet.held', 'count', this.held.length],
      ['collector.quiet.overflow', 'count', this.counters.quietOverflow],
    ];
    this.counters.samples = 0;
    const sink = this.opts.output.stats?.();
    if (sink)
      values.push(
        ['collector.spool.batches', 'count', sink.spooledBatches],
        ['collector.spool.bytes', 'bytes', sink.spooledBytes],
        ['collector.sink.memory.bytes', 'bytes', sink.memoryBytes],
        ['collector.sink.dropped', 'count', sink.dropped],
        ['collector.sink.retries', 'count', sink.retries],
        ['collector.sink.backoff.ms', 'ms', sink.backoffMs],
      );
    const readings: Reading[] = values
      .filter((v): v is [string, string, number] => v[2] !== undefined && Number.isFinite(v[2]))
      .map(([name, unit, value]) => ({ scope: 'collector', name, unit, value, timestamp: at }));
    this.ingest(readings);
  }
}

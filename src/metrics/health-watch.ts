/**
 * A machine's hardware health around each repetition: a snapshot before it (GPU counters
 * from `nvidia-smi -q -x`, CPU thermal throttle counts, the kernel log read up to now),
 * the GPU clock event reasons of every sample the machine's monitor takes while it runs,
 * and a snapshot after. Repetitions running at once on one machine each see all of it:
 * the hardware is shared. Judging is `judgeHealth`'s, with the matrix's thresholds.
 *
 * What cannot be read is said once and then left alone: no nvidia-smi or no GPU (no GPU
 * snapshot again), nvidia-smi failing three times in a row, a kernel log that is not
 * readable ("XID errors not readable", only on machines with GPUs).
 */
import { silentLogger, type Logger } from '../core/index.js';
import { readCpuThrottle, type CpuThrottleCounts } from './cpu-throttle.js';
import { readGpuHealth, type GpuHealthResult } from './gpu/health-snapshot.js';
import { ThrottleTally, type HealthObservation, type HealthSnapshot } from './health.js';
import { KernelLog, type XidEvent, type XidSource } from './kernel-log.js';
import type { Reading } from './reading.js';

/** What the repetition runner asks of a machine's health. */
export interface HealthProbe {
  /** Takes the snapshot before a repetition and starts counting the machine's samples. */
  begin(): Promise<HealthSpan>;
}

export interface HealthSpan {
  /** Stops counting, takes the snapshot after: what the repetition's judging reads. */
  end(): Promise<HealthObservation>;
}

export interface MachineHealthOptions {
  host: string;
  /** GPU counters; absent: none read. */
  gpu?: () => Promise<GpuHealthResult>;
  /** CPU thermal throttle counts; absent: none read. */
  cpu?: () => Promise<CpuThrottleCounts | undefined>;
  /** The kernel log's XID errors; absent: not read. */
  xids?: XidSource;
  logger?: Logger;
}

/** nvidia-smi failures in a row after which no more GPU snapshots are taken. */
const GPU_FAILURES = 3;
/** XID events kept for spans still open. */
const MAX_XIDS = 10_000;

export class MachineHealth implements HealthProbe {
  private readonly logger: Logger;
  private readonly tallies = new Set<ThrottleTally>();
  private gpuOff = false;
  /** The CPUs had no throttle counters the first time: the kernel will not grow them. */
  private cpuOff = false;
  private gpuFailures = 0;
  private hasGpus = false;
  private xidNoted = false;
  /** XIDs read so far (the newest); `xidBase` is how many older ones were let go. */
  private xidLog: XidEvent[] = [];
  private xidBase = 0;
  private xidReadable = true;
  private inflight: Promise<HealthSnapshot> | undefined;

  constructor(private readonly opts: MachineHealthOptions) {
    this.logger = opts.logger ?? silentLogger;
  }

  /** The machine's readings as they are taken (the monitor's push sources and collectors). */
  observe(readings: readonly Reading[]): void {
    for (const t of this.tallies) t.add(readings);
  }

  async begin(): Promise<HealthSpan> {
    const before = await this.snapshot();
    const mark = this.xidMark();
    const tally = new ThrottleTally();
    this.tallies.add(tally);
    let ended: Promise<HealthObservation> | undefined;
    return {
      end: () =>
        (ended ??= (async () => {
          this.tallies.delete(tally);
          const after = await this.snapshot();
          const xids = this.xidsSince(mark);
          return { before, after, throttle: tally.result(), ...(xids ? { xids } : {}) };
        })()),
    };
  }

  close(): void {
    this.opts.xids?.close();
  }

  /** One snapshot at a time: repetitions starting or ending together share it. */
  private snapshot(): Promise<HealthSnapshot> {
    return (this.inflight ??= this.take().finally(() => (this.inflight = undefined)));
  }

  private async take(): Promise<HealthSnapshot> {
    const [gpus, cpu] = await Promise.all([this.readGpus(), this.readCpu()]);
    this.readXids();
    return { ...(gpus ? { gpus } : {}), ...(cpu ? { cpu } : {}) };
  }

  private async readGpus(): Promise<HealthSnapshot['gpus']> {
    if (!this.opts.gpu || this.gpuOff) return undefined;
    const r = await this.opts.gpu();
    if (r.status === 'known') {
      this.gpuFailures = 0;
      this.hasGpus ||= r.gpus.length > 0;
      return r.gpus;
    }
    if (r.status === 'none') {
      this.gpuOff = true;
      this.logger.debug(`no GPU health on ${this.opts.host}: ${r.reason}`);
    } else if (++this.gpuFailures >= GPU_FAILURES) {
      this.gpuOff = true;
      this.logger.warn(
        `GPU health of ${this.opts.host} not checked any more: nvidia-smi -q -x failed ${GPU_FAILURES} times in a row (${r.reason})`,
      );
    }
    return undefined;
  }

  private async readCpu(): Promise<CpuThrottleCounts | undefined> {
    if (!this.opts.cpu || this.cpuOff) return undefined;
    const counts = await this.opts.cpu().catch(() => undefined);
    this.cpuOff = counts === undefined;
    return counts;
  }

  /** Reads what the kernel logged since the last read; XIDs matter only where there are GPUs. */
  private readXids(): void {
    if (!this.opts.xids || !this.hasGpus || !this.xidReadable) return;
    const r = this.opts.xids.read();
    if ('unreadable' in r) {
      this.xidReadable = false;
      if (!this.xidNoted)
        this.logger.warn(`XID errors not readable on ${this.opts.host} (${r.unreadable}); not judged`);
      this.xidNoted = true;
      return;
    }
    this.xidLog.push(...r.events);
    const over = this.xidLog.length - MAX_XIDS;
    if (over > 0) {
      this.xidLog = this.xidLog.slice(over);
      this.xidBase += over;
    }
  }

  private xidMark(): number | undefined {
    return this.xidReadable && this.hasGpus && this.opts.xids ? this.xidBase + this.xidLog.length : undefined;
  }

  private xidsSince(mark: number | undefined): XidEvent[] | undefined {
    if (mark === undefined || !this.xidReadable) return undefined;
    return this.xidLog.slice(Math.max(0, mark - this.xidBase));
  }
}

/** The health watch of the machine this process runs on (or whose /sys is under `fsRoot`). */
export function machineHealth(o: {
  host: string;
  fsRoot?: string;
  /** Ask nvidia-smi (the matrix's `metrics.gpu`). */
  gpu: boolean;
  command?: string;
  kmsg?: string;
  logger?: Logger;
}): MachineHealth {
  const fsRoot = o.fsRoot ?? '/';
  return new MachineHealth({
    host: o.host,
    ...(o.gpu ? { gpu: () => readGpuHealth(o.command) } : {}),
    cpu: () => readCpuThrottle(fsRoot),
    xids: new KernelLog(o.kmsg ?? '/dev/kmsg'),
    ...(o.logger ? { logger: o.logger } : {}),
  });
}

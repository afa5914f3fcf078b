/**
 * One container's resource use, read from its cgroup files and its network namespace's
 * `/proc/<pid>/net/dev` on each tick: no Docker API call. A container that has exited
 * (its cgroup removed) yields nothing more.
 */
import { cgroupOf, type CgroupFiles } from './cgroup.js';
import { Rates } from './rates.js';
import type { Collector, Reading } from './reading.js';

export class ContainerCollector implements Collector {
  readonly name: string;
  private files: Promise<CgroupFiles | undefined> | undefined;
  private gone = false;
  private readonly rates = new Rates();

  constructor(
    readonly containerId: string,
    private readonly pid: number,
    private readonly fsRoot = '/',
  ) {
    this.name = `container:${containerId.slice(0, 12)}`;
  }

  /** Closes the cgroup files held open. */
  async close(): Promise<void> {
    this.gone = true;
    (await this.files)?.close();
  }

  async collect(at: number): Promise<readonly Reading[]> {
    if (this.gone || this.pid <= 0) return [];
    this.files ??= cgroupOf(this.pid, this.fsRoot).catch(() => undefined);
    const files = await this.files;
    if (!files) {
      this.gone = true;
      return [];
    }
    let r;
    try {
      r = await files.read();
    } catch {
      this.gone = true; // cgroup removed: the container is gone
      files.close();
      return [];
    }
    const out: Reading[] = [];
    const add = (name: string, unit: string, value: number | undefined, device?: string) => {
      if (value === undefined || !Number.isFinite(value)) return;
      out.push({
        scope: 'container',
        name,
        unit,
        value,
        timestamp: at,
        containerId: this.containerId,
        ...(device ? { device } : {}),
      });
    };
    const cpu = this.rates.delta('cpu', r.cpuNs, at);
    add('container.cpu.usage.cores', 'cores', cpu && cpu.delta / 1e6 / cpu.ms);
    const periods = this.rates.delta('periods', r.cpuPeriods, at);
    const throttled = this.rates.delta('throttled', r.cpuThrottledPeriods, at);
    if (periods && throttled && periods.delta > 0)
      add('container.cpu.throttled.pct', 'pct', (100 * throttled.delta) / periods.delta);
    add('container.memory.usage.bytes', 'bytes', r.memoryBytes);
    add('container.disk.read.bytes_per_sec', 'bytes/s', this.rates.perSecond('io.r', r.ioReadBytes, at));
    add('container.disk.write.bytes_per_sec', 'bytes/s', this.rates.perSecond('io.w', r.ioWriteBytes, at));
    add('container.disk.io.ops_per_sec', 'ops/s', this.rates.perSecond('io.ops', r.ioOps, at));
    add('container.pids.count', 'count', r.pids);
    for (const [iface, n] of r.net) {
      add(
        'container.network.rx.bytes_per_sec',
        'bytes/s',
        this.rates.perSecond(`rx:${iface}`, n.rxBytes, at),
        iface,
      );
      add(
        'container.network.tx.bytes_per_sec',
        'bytes/s',
        this.rates.perSecond(`tx:${iface}`, n.txBytes, at),
        iface,
      );
    }
    return out;
  }
}

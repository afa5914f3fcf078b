/**
 * The machine's own metrics (scope `host`): CPU use, 1-minute load, memory, per-disk and
 * per-interface throughput, temperatures. Read on every tick, up to 10 Hz, while a
 * benchmark runs on the same cores: a tick must cost little CPU and never block the event
 * loop.
 *
 * Where each value comes from, and why. systeminformation 5 (Linux code read in
 * node_modules/systeminformation/lib; cost per call measured on this project's 2-core VM,
 * Node 20, 50 calls each with its 200/500 ms result caches defeated, CPU of this process +
 * of the processes it spawns; `npx tsx test/perf/host-collector-cost.ts --si`):
 *  - memory: `si.mem()`. Async `fs.readFile('/proc/meminfo')`, no process: 0.5–1 ms, the
 *    event loop free. Used (total − available) and available come from it on fsRoot '/'.
 *  - CPU use: /proc/stat, read here. `si.currentLoad()` runs `execSync('cat /proc/stat |
 *    grep cpu')` on every call 200 ms apart: 3–4 ms + 6–7 ms in children, and it blocks
 *    the event loop for the shell's lifetime (10–20 ms delays measured); it also waits
 *    500 ms on its first call.
 *  - load: /proc/loadavg, read here (`currentLoad().avgLoad` is max(loadavg) / cores).
 *  - disks: /proc/diskstats, read here. `si.disksIO()` execs a shell pipeline (lsblk, sed,
 *    awk, cut, sort, a cat per disk): 4–5 ms + 24–30 ms; `si.fsStats()` execs lsblk, then
 *    cat /proc/diskstats: 6–10 ms + 14–17 ms. Both give totals over all disks only.
 *  - network: /proc/net/dev, read here. `si.networkStats(iface)` does `existsSync` and execs
 *    seven cats per interface: 5–7 ms + 10–14 ms; `networkStats('*')` adds an interface
 *    scan: 9–14 ms + 20–28 ms.
 *  - temperatures: /sys/class/hwmon, else /sys/class/thermal, read here at most once a
 *    second. `si.cpuTemperature()` runs `execSync('cat …thermal_zone*…')`, then a shell
 *    loop over hwmon and maybe `sensors`: 11–19 ms + 10–17 ms, event loop blocked 20–30 ms.
 * Files read here stay open and are re-read from offset 0: one pread each per tick, about
 * 0.05 ms against 0.3 ms for `readFile` (open, fstat, read, close). A whole `collect()`
 * costs 0.9–1.7 ms of CPU (about 1–2 % of a core at 10 Hz), 0.5–1 ms of it `si.mem()`;
 * 0.45–1 ms with every value read here (the higher figures on a machine busy with other
 * work).
 *
 * `fsRoot` (default '/') points at a machine's /proc and /sys mounted elsewhere (the agent
 * container mounts the host's under /host). systeminformation always reads the '/' of the
 * process it runs in, which in a container is the container's view (its /proc/meminfo, or
 * LXCFS's per-container one), so with any other fsRoot memory is read from
 * `<fsRoot>/proc/meminfo` as well and systeminformation is not called at all. Network
 * counters come from `<fsRoot>/proc/net/dev`, which is the reading process's network
 * namespace: the host's on the host and in a container with host networking (the agent).
 *
 * CPU use is (user + nice + system + irq + softirq + steal) / all of that + idle + iowait,
 * over all cores. Disks: whole block devices of /proc/diskstats (its sectors are always
 * 512 bytes; ops = reads + writes completed); loop*, ram*, zram* and dm-* (device-mapper
 * volumes double-count the disks under them) are skipped, and so is a partition whose disk
 * is listed (`sda1` of `sda`, `nvme0n1p1` of `nvme0n1`); md* arrays are kept. Interfaces:
 * all, `lo` included. Rates: from the previous call's counters and the time between the
 * two `at`s; none on the first call or for a counter that went backwards.
 *
 * Energy: where the machine has RAPL (rapl.ts), each tick gives `host.power.watts` per
 * domain (device `rapl:package-0`, `rapl:dram-0`, `rapl:core-0`, `rapl:psys`, …): the mean
 * power since the previous tick, from the wrap-corrected counters, none on the first. Power
 * rather than the counters themselves: comparable with `gpu.power.draw.watts`, and free of
 * the counters' arbitrary origin. `readEnergy` (the monitor calls it when a repetition
 * starts and ends) gives the cumulative joules of the domains that can be summed.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import si from 'systeminformation';
import { silentLogger, type Logger } from '../core/index.js';
import type { EnergyCounters, EnergyReading } from './energy.js';
import { KernelFile, readSmall as small } from './kernel-file.js';
import { RaplMeter, SUMMED_RAPL_KINDS, type SysfsPort } from './rapl.js';
import { Rates } from './rates.js';
import type { Collector, Reading } from './reading.js';

export interface HostCollectorOptions {
  /** Where the machine's /proc and /sys are: '/' (default) or e.g. '/host' in the agent container. */
  fsRoot?: string;
  logger?: Logger;
  /** How RAPL's sysfs files are read (tests). @default the file system */
  raplFs?: SysfsPort;
}

/** Temperatures change slowly: read them at most this often. */
const TEMPERATURE_PERIOD_MS = 1000;
const SECTOR_BYTES = 512;
const SKIPPED_DISK = /^(loop|ram|zram|dm-)\d/;

export class HostCollector implements Collector, EnergyCounters {
  readonly name = 'host';
  private readonly fsRoot: string;
  private readonly logger: Logger;
  private readonly rates = new Rates();
  private readonly rapl: RaplMeter;
  private readonly files = new Map<string, KernelFile>();
  private readonly failed = new Set<string>();
  private sensors: Promise<Sensor[]> | undefined;
  private temperaturesAt = -Infinity;
  /** Calls are serialized: the open files' buffers and the rate state are shared. */
  private previous: Promise<unknown> = Promise.resolve();

  constructor(options: HostCollectorOptions = {}) {
    this.fsRoot = path.resolve(options.fsRoot ?? '/');
    this.logger = options.logger ?? silentLogger;
    this.rapl = new RaplMeter({
      fsRoot: this.fsRoot,
      logger: this.logger,
      ...(options.raplFs ? { fs: options.raplFs } : {}),
    });
  }

  collect(at: number): Promise<readonly Reading[]> {
    const run = this.previous.then(() => this.read(at));
    this.previous = run.catch(() => undefined);
    return run;
  }

  /**
   * The RAPL package and DRAM counters now, in joules since first read. Not queued behind a
   * tick: the RAPL meter orders its own reads.
   */
  async readEnergy(at: number): Promise<EnergyReading> {
    const r = await this.rapl.read(at);
    const sources: EnergyReading['sources'] = new Map(
      r.domains
        .filter((d) => SUMMED_RAPL_KINDS.has(d.domain.kind))
        .map((d) => [
          `rapl:${d.domain.label}`,
          { kind: d.domain.kind === 'dram' ? 'dram' : 'cpu', joules: d.joules },
        ]),
    );
    const others = r.domains.length > 0 && sources.size === 0;
    const missing = [
      r.missing,
      others && `no RAPL package or DRAM domain (only ${r.domains.map((d) => d.domain.label).join(', ')})`,
    ].filter(Boolean);
    return { at, sources, ...(missing.length ? { missing: missing.join('; ') } : {}) };
  }

  async close(): Promise<void> {
    await this.previous;
    await this.rapl.close();
    const sensors = (await this.sensors) ?? [];
    await Promise.all([...this.files.values(), ...sensors.map((s) => s.file)].map((f) => f.close()));
    this.files.clear();
    this.sensors = undefined;
  }

  private async read(at: number): Promise<Reading[]> {
    const out: Reading[] = [];
    const add = (name: string, unit: string, value: number | undefined, device?: string) => {
      if (value === undefined || !Number.isFinite(value)) return;
      out.push({ scope: 'host', name, unit, value, timestamp: at, ...(device ? { device } : {}) });
    };
    const readTemps = at - this.temperaturesAt >= TEMPERATURE_PERIOD_MS;
    if (readTemps) this.temperaturesAt = at;
    const [stat, loadavg, memory, diskstats, netDev, temps, rapl] = await Promise.all([
      this.text('proc/stat'),
      this.text('proc/loadavg'),
      this.memory().catch((err: unknown) => {
        this.logger.debug(`host collector: memory: ${String(err)}`);
        return undefined;
      }),
      this.text('proc/diskstats'),
      this.text('proc/net/dev'),
      readTemps ? this.temperatures() : Promise.resolve([]),
      this.rapl.read(at).catch((err: unknown) => {
        this.logger.debug(`host collector: RAPL: ${String(err)}`);
        return { domains: [] };
      }),
    ]);

    if (stat !== undefined) {
      const cpu = parseCpuTimes(stat);
      const busy = cpu && this.rates.delta('cpu.busy', cpu.busy, at);
      const total = cpu && this.rates.delta('cpu.total', cpu.total, at);
      if (busy && total && total.delta > 0)
        add('host.cpu.usage.pct', 'pct', Math.min(100, (100 * busy.delta) / total.delta));
    }
    if (loadavg !== undefined) add('host.load.1m', 'load', parseFloat(loadavg));
    if (memory) {
      add('host.memory.used.bytes', 'bytes', memory.total - memory.available);
      add('host.memory.available.bytes', 'bytes', memory.available);
    }
    for (const d of diskstats === undefined ? [] : parseDiskstats(diskstats)) {
      const r = this.rates.perSecond(`disk.r:${d.device}`, d.readBytes, at);
      const w = this.rates.perSecond(`disk.w:${d.device}`, d.writeBytes, at);
      const ops = this.rates.perSecond(`disk.ops:${d.device}`, d.ops, at);
      add('host.disk.read.bytes_per_sec', 'bytes/s', r, d.device);
      add('host.disk.write.bytes_per_sec', 'bytes/s', w, d.device);
      add('host.disk.io.ops_per_sec', 'ops/s', ops, d.device);
    }
    for (const [iface, n] of netDev === undefined ? [] : parseInterfaces(netDev)) {
      add('host.network.rx.bytes_per_sec', 'bytes/s', this.rates.perSecond(`rx:${iface}`, n.rx, at), iface);
      add('host.network.tx.bytes_per_sec', 'bytes/s', this.rates.perSecond(`tx:${iface}`, n.tx, at), iface);
    }
    for (const t of temps) add('host.temperature.celsius', 'C', t.celsius, t.device);
    for (const { domain, joules } of rapl.domains) {
      const device = `rapl:${domain.label}`;
      add('host.power.watts', 'W', this.rates.perSecond(device, joules, at), device);
    }
    return out;
  }

  /** Total and available memory: systeminformation on '/', `<fsRoot>/proc/meminfo` elsewhere. */
  private async memory(): Promise<{ total: number; available: number } | undefined> {
    if (this.fsRoot === '/') {
      const m = await si.mem();
      return { total: m.total, available: m.available };
    }
    const text = await this.text('proc/meminfo');
    return text === undefined ? undefined : parseMeminfo(text);
  }

  /** A kernel file's text, or undefined (logged once per file) where it cannot be read. */
  private async text(rel: string): Promise<string | undefined> {
    let file = this.files.get(rel);
    if (!file) this.files.set(rel, (file = new KernelFile(path.join(this.fsRoot, rel))));
    try {
      return await file.read();
    } catch (err) {
      if (!this.failed.has(rel)) {
        this.failed.add(rel);
        this.logger.warn(`host collector: cannot read ${file.path}: ${String(err)}`);
      }
      return undefined;
    }
  }

  private async temperatures(): Promise<Array<{ device: string; celsius: number }>> {
    this.sensors ??= findSensors(this.fsRoot).catch((err: unknown) => {
      this.logger.debug(`host collector: no temperature sensors: ${String(err)}`);
      return [];
    });
    const out: Array<{ device: string; celsius: number }> = [];
    // One at a time: some hwmon drivers take milliseconds per read, and the thread pool is shared.
    for (const s of await this.sensors) {
      try {
        const celsius = Number((await s.file.read()).trim()) / 1000;
        if (Number.isFinite(celsius)) out.push({ device: s.device, celsius });
      } catch {
        /* a sensor without a value now (EIO, ENODATA): nothing for it this time */
      }
    }
    return out;
  }
}

interface Sensor {
  device: string;
  file: KernelFile;
}

/**
 * Temperature inputs: hwmon `temp*_input` (device `<chip>/<label>`, e.g. `coretemp/Package id 0`,
 * `k10temp/Tctl`, `nvme/Composite`); where there are none, thermal zones (device = zone type,
 * e.g. `x86_pkg_temp`, `cpu-thermal`). Found once.
 */
async function findSensors(fsRoot: string): Promise<Sensor[]> {
  const sensors: Sensor[] = [];
  const seen = new Set<string>();
  const addSensor = (device: string, file: string, fallback: string) => {
    const name = seen.has(device) ? `${device} (${fallback})` : device;
    seen.add(name);
    sensors.push({ device: name, file: new KernelFile(file) });
  };
  const hwmon = path.join(fsRoot, 'sys/class/hwmon');
  for (const entry of (await list(hwmon)).sort(byNumber)) {
    let dir = path.join(hwmon, entry);
    let inputs = (await list(dir)).filter((f) => /^temp\d+_input$/.test(f));
    if (inputs.length === 0) {
      dir = path.join(dir, 'device'); // kernels before 5.x kept the attributes there
      inputs = (await list(dir)).filter((f) => /^temp\d+_input$/.test(f));
    }
    if (inputs.length === 0) continue;
    const chip = (await small(path.join(dir, 'name'))) || entry;
    for (const input of inputs.sort(byNumber)) {
      const temp = input.slice(0, -'_input'.length);
      const label = (await small(path.join(dir, `${temp}_label`))) || temp;
      addSensor(`${chip}/${label}`, path.join(dir, input), entry);
    }
  }
  if (sensors.length > 0) return sensors;
  const thermal = path.join(fsRoot, 'sys/class/thermal');
  for (const zone of (await list(thermal)).filter((z) => z.startsWith('thermal_zone')).sort(byNumber)) {
    const type = (await small(path.join(thermal, zone, 'type'))) || zone;
    addSensor(type, path.join(thermal, zone, 'temp'), zone);
  }
  return sensors;
}

async function list(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch {
    return [];
  }
}

function byNumber(a: string, b: string): number {
  return Number(/\d+/.exec(a)?.[0] ?? 0) - Number(/\d+/.exec(b)?.[0] ?? 0);
}

/** Busy and total jiffies of the aggregate `cpu` line of /proc/stat (iowait counts as idle). */
function parseCpuTimes(text: string): { busy: number; total: number } | undefined {
  const m = /^cpu\s+(.*)$/m.exec(text);
  if (!m) return undefined;
  // user nice system idle iowait irq softirq steal [guest guest_nice: already in user and nice]
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = m[1]!
    .trim()
    .split(/\s+/)
    .map(Number);
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, total: busy + idle + iowait };
}

/** MemTotal and MemAvailable of /proc/meminfo, bytes (free + buffers + cached before Linux 3.14). */
function parseMeminfo(text: string): { total: number; available: number } | undefined {
  const kb = (key: string) => {
    const m = new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : undefined;
  };
  const total = kb('MemTotal');
  if (total === undefined) return undefined;
  const available = kb('MemAvailable') ?? (kb('MemFree') ?? 0) + (kb('Buffers') ?? 0) + (kb('Cached') ?? 0);
  return { total, available };
}

/** Cumulative counters of the whole disks in /proc/diskstats (see the header for what is skipped). */
function parseDiskstats(
  text: string,
): Array<{ device: string; readBytes: number; writeBytes: number; ops: number }> {
  const rows = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || SKIPPED_DISK.test(f[2]!)) continue;
    rows.push({
      device: f[2]!,
      readBytes: Number(f[5]) * SECTOR_BYTES,
      writeBytes: Number(f[9]) * SECTOR_BYTES,
      ops: Number(f[3]) + Number(f[7]),
    });
  }
  const names = new Set(rows.map((r) => r.device));
  return rows.filter((r) => !names.has(parentDisk(r.device) ?? ''));
}

/** The disk a partition name would belong to, by the kernel's naming (`sda1`, `nvme0n1p2`, `mmcblk0p1`). */
function parentDisk(name: string): string | undefined {
  return /^(.*\d)p\d+$/.exec(name)?.[1] ?? /^(.*[a-z])\d+$/.exec(name)?.[1];
}

/** Receive and transmit byte counters of every interface in /proc/net/dev, loopback included. */
function parseInterfaces(text: string): Map<string, { rx: number; tx: number }> {
  const out = new Map<string, { rx: number; tx: number }>();
  for (const line of text.split('\n').slice(2)) {
    const m = /^\s*([^:\s]+):\s*(.*)$/.exec(line);
    if (!m) continue;
    const f = m[2]!.trim().split(/\s+/);
    out.set(m[1]!, { rx: Number(f[0]), tx: Number(f[8]) });
  }
  return out;
}

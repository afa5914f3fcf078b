/**
 * Reads a container's counters straight from its cgroup files (v1 and v2), which costs
 * microseconds and no Docker API call. Paths come from `/proc/<pid>/cgroup`; network
 * counters from the container's own `/proc/<pid>/net/dev` (its network namespace).
 *
 * The files are opened once and re-read from offset 0 with one synchronous `pread` each:
 * these are kernel pseudo-files answered from memory in microseconds, so a synchronous
 * read never waits on a disk, and it avoids the thread-pool round trip of
 * `fs.promises.readFile` (open, fstat, read, close: ~200 µs of CPU per file measured on
 * the dev VM, against ~5 µs for the pread).
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';

export interface CgroupReading {
  /** Cumulative CPU time, nanoseconds. */
  cpuNs: number;
  /** CFS periods elapsed and throttled (0 when the container has no CPU limit). */
  cpuPeriods: number;
  cpuThrottledPeriods: number;
  /** Memory in use excluding reclaimable page cache (inactive_file), bytes. */
  memoryBytes: number;
  /** Cumulative block I/O, bytes and operations. */
  ioReadBytes: number;
  ioWriteBytes: number;
  ioOps: number;
  /** Processes and threads in the cgroup; undefined where the pids controller is absent. */
  pids?: number;
  /** Per network interface (`lo` excluded): cumulative bytes. */
  net: ReadonlyMap<string, { rxBytes: number; txBytes: number }>;
}

export interface CgroupFiles {
  version: 1 | 2;
  /** Throws once the cgroup is gone (the container exited). */
  read(): Promise<CgroupReading>;
  /** Closes the files held open. */
  close(): void;
}

/** A pseudo-file held open and re-read from the start; an absent optional file reads as ''. */
class HeldFile {
  private fd: number | undefined;
  private static readonly buf = Buffer.alloc(64 * 1024);

  constructor(
    readonly file: string | undefined,
    private readonly optional: boolean,
  ) {
    if (!file) return;
    try {
      this.fd = openSync(file, 'r');
    } catch (err) {
      if (!optional) throw err;
    }
  }

  read(): string {
    if (this.fd === undefined) {
      if (this.optional) return '';
      throw new Error(`${this.file} is not open`);
    }
    const n = readSync(this.fd, HeldFile.buf, 0, HeldFile.buf.length, 0);
    return HeldFile.buf.toString('latin1', 0, n);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

function held(files: Record<string, [file: string | undefined, optional: boolean]>) {
  const out: Record<string, HeldFile> = {};
  try {
    for (const [k, [file, opt]] of Object.entries(files)) out[k] = new HeldFile(file, opt);
  } catch (err) {
    for (const f of Object.values(out)) f.close();
    throw err;
  }
  return {
    f: out,
    close: () => {
      for (const f of Object.values(out)) f.close();
    },
  };
}

/** Locates the cgroup files of process `pid`; `fsRoot` points at a copy of /proc and /sys (tests, the agent). */
export async function cgroupOf(pid: number, fsRoot = '/'): Promise<CgroupFiles> {
  const lines = (await readFile(path.join(fsRoot, 'proc', String(pid), 'cgroup'), 'utf8')).trim().split('\n');
  const entries = lines.map((l) => {
    const [, controllers = '', p = '/'] = /^\d+:([^:]*):(.*)$/.exec(l) ?? [];
    return { controllers: controllers.split(','), path: p };
  });
  const sys = path.join(fsRoot, 'sys/fs/cgroup');
  const netDev = path.join(fsRoot, 'proc', String(pid), 'net/dev');
  const v1 = (name: string) => entries.find((e) => e.controllers.includes(name));
  const v1cpu = v1('cpuacct');
  const v1mem = v1('memory');
  if (v1cpu && v1mem) {
    const dirOf = (name: string) => {
      const e = v1(name);
      return e
        ? firstExisting([path.join(sys, name, e.path), path.join(sys, e.controllers.join(','), e.path)])
        : Promise.resolve(undefined);
    };
    const [acctDir, cpuDir, memDir, blkioDir, pidsDir] = await Promise.all([
      dirOf('cpuacct'),
      dirOf('cpu'),
      dirOf('memory'),
      dirOf('blkio'),
      dirOf('pids'),
    ]);
    const { f, close } = held({
      usage: [path.join(acctDir!, 'cpuacct.usage'), false],
      cpuStat: [cpuDir && path.join(cpuDir, 'cpu.stat'), true],
      current: [path.join(memDir!, 'memory.usage_in_bytes'), false],
      memStat: [path.join(memDir!, 'memory.stat'), false],
      blkio: [blkioDir && path.join(blkioDir, 'blkio.throttle.io_service_bytes_recursive'), true],
      ops: [blkioDir && path.join(blkioDir, 'blkio.throttle.io_serviced_recursive'), true],
      pids: [pidsDir && path.join(pidsDir, 'pids.current'), true],
      net: [netDev, true],
    });
    return {
      version: 1,
      close,
      read: async () => {
        const blkio = f.blkio!.read();
        const ops = f.ops!.read();
        const pids = f.pids!.read();
        const cpuStat = f.cpuStat!.read();
        return {
          cpuNs: Number(f.usage!.read()),
          cpuPeriods: statField(cpuStat, 'nr_periods'),
          cpuThrottledPeriods: statField(cpuStat, 'nr_throttled'),
          memoryBytes: Math.max(
            0,
            Number(f.current!.read()) - statField(f.memStat!.read(), 'total_inactive_file'),
          ),
          ioReadBytes: blkioSum(blkio, 'Read'),
          ioWriteBytes: blkioSum(blkio, 'Write'),
          ioOps: blkioSum(ops, 'Read') + blkioSum(ops, 'Write'),
          ...(pids ? { pids: Number(pids) } : {}),
          net: parseNetDev(f.net!.read()),
        };
      },
    };
  }
  const unified = entries.find((e) => e.controllers.length === 1 && e.controllers[0] === '');
  if (!unified) throw new Error(`no cpu/memory cgroup for pid ${pid}`);
  const dir = path.join(sys, unified.path);
  const { f, close } = held({
    cpu: [path.join(dir, 'cpu.stat'), false],
    current: [path.join(dir, 'memory.current'), false],
    stat: [path.join(dir, 'memory.stat'), false],
    io: [path.join(dir, 'io.stat'), true],
    pids: [path.join(dir, 'pids.current'), true],
    net: [netDev, true],
  });
  return {
    version: 2,
    close,
    read: async () => {
      const cpu = f.cpu!.read();
      const ioStat = parseIoStat(f.io!.read());
      const pids = f.pids!.read();
      return {
        cpuNs: statField(cpu, 'usage_usec') * 1000,
        cpuPeriods: statField(cpu, 'nr_periods'),
        cpuThrottledPeriods: statField(cpu, 'nr_throttled'),
        memoryBytes: Math.max(0, Number(f.current!.read()) - statField(f.stat!.read(), 'inactive_file')),
        ioReadBytes: ioStat.rbytes,
        ioWriteBytes: ioStat.wbytes,
        ioOps: ioStat.rios + ioStat.wios,
        ...(pids ? { pids: Number(pids) } : {}),
        net: parseNetDev(f.net!.read()),
      };
    },
  };
}

/** Value of `key` in a flat-keyed stat file (`key value` per line); 0 when absent. */
export function statField(text: string, key: string): number {
  let re = STAT_RE.get(key);
  if (!re) STAT_RE.set(key, (re = new RegExp(`^${key} (\\d+)$`, 'm')));
  const m = re.exec(text);
  return m ? Number(m[1]) : 0;
}
const STAT_RE = new Map<string, RegExp>();

/** Sum over devices of one operation in a v1 blkio file (`8:0 Read 4096` lines). */
export function blkioSum(text: string, op: 'Read' | 'Write'): number {
  let sum = 0;
  for (const m of text.matchAll(BLKIO_RE[op])) sum += Number(m[1]);
  return sum;
}
const BLKIO_RE = { Read: /^\d+:\d+ Read (\d+)$/gm, Write: /^\d+:\d+ Write (\d+)$/gm };

/** Totals over devices of a v2 `io.stat` (`8:0 rbytes=1 wbytes=2 rios=3 wios=4 ...`). */
export function parseIoStat(text: string): { rbytes: number; wbytes: number; rios: number; wios: number } {
  const total = { rbytes: 0, wbytes: 0, rios: 0, wios: 0 };
  for (const m of text.matchAll(/\b(rbytes|wbytes|rios|wios)=(\d+)/g))
    total[m[1] as keyof typeof total] += Number(m[2]);
  return total;
}

/** Interfaces of a `/proc/<pid>/net/dev`, loopback excluded. */
export function parseNetDev(text: string): Map<string, { rxBytes: number; txBytes: number }> {
  const out = new Map<string, { rxBytes: number; txBytes: number }>();
  for (const line of text.split('\n').slice(2)) {
    const m = /^\s*([^:\s]+):\s*(.*)$/.exec(line);
    if (!m || m[1] === 'lo') continue;
    const f = m[2]!.trim().split(/\s+/).map(Number);
    out.set(m[1]!, { rxBytes: f[0] ?? 0, txBytes: f[8] ?? 0 });
  }
  return out;
}

async function firstExisting(dirs: string[]): Promise<string> {
  for (const d of dirs) {
    try {
      await access(d);
      return d;
    } catch {
      /* try the next layout */
    }
  }
  return dirs[0]!;
}

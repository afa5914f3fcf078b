/**
 * Reads a container's CPU and memory straight from its cgroup files (v1 and v2), which
 * costs microseconds and no Docker API call. Paths come from `/proc/<pid>/cgroup`.
 */
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';

export interface CgroupReading {
  /** Cumulative CPU time, nanoseconds. */
  cpuNs: number;
  /** Memory in use excluding reclaimable page cache (inactive_file), bytes. */
  memoryBytes: number;
}

export interface CgroupFiles {
  version: 1 | 2;
  read(): Promise<CgroupReading>;
}

/** Locates the cgroup files of process `pid`; `fsRoot` lets tests point at a copy of /proc and /sys. */
export async function cgroupOf(pid: number, fsRoot = '/'): Promise<CgroupFiles> {
  const lines = (await readFile(path.join(fsRoot, 'proc', String(pid), 'cgroup'), 'utf8')).trim().split('\n');
  const entries = lines.map((l) => {
    const [, controllers = '', p = '/'] = /^\d+:([^:]*):(.*)$/.exec(l) ?? [];
    return { controllers: controllers.split(','), path: p };
  });
  const sys = path.join(fsRoot, 'sys/fs/cgroup');
  const v1cpu = entries.find((e) => e.controllers.includes('cpuacct'));
  const v1mem = entries.find((e) => e.controllers.includes('memory'));
  if (v1cpu && v1mem) {
    const cpuDir = await firstExisting([
      path.join(sys, 'cpuacct', v1cpu.path),
      path.join(sys, v1cpu.controllers.join(','), v1cpu.path),
    ]);
    const memDir = path.join(sys, 'memory', v1mem.path);
    return {
      version: 1,
      read: async () => {
        const [usage, current, stat] = await Promise.all([
          readFile(path.join(cpuDir, 'cpuacct.usage'), 'utf8'),
          readFile(path.join(memDir, 'memory.usage_in_bytes'), 'utf8'),
          readFile(path.join(memDir, 'memory.stat'), 'utf8'),
        ]);
        const inactive = statField(stat, 'total_inactive_file');
        return { cpuNs: Number(usage), memoryBytes: Math.max(0, Number(current) - inactive) };
      },
    };
  }
  const unified = entries.find((e) => e.controllers.length === 1 && e.controllers[0] === '');
  if (!unified) throw new Error(`no cpu/memory cgroup for pid ${pid}`);
  const dir = path.join(sys, unified.path);
  return {
    version: 2,
    read: async () => {
      const [cpu, current, stat] = await Promise.all([
        readFile(path.join(dir, 'cpu.stat'), 'utf8'),
        readFile(path.join(dir, 'memory.current'), 'utf8'),
        readFile(path.join(dir, 'memory.stat'), 'utf8'),
      ]);
      const inactive = statField(stat, 'inactive_file');
      return {
        cpuNs: statField(cpu, 'usage_usec') * 1000,
        memoryBytes: Math.max(0, Number(current) - inactive),
      };
    },
  };
}

/** Value of `key` in a flat-keyed stat file (`key value` per line); 0 when absent. */
export function statField(text: string, key: string): number {
  const m = new RegExp(`^${key} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
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

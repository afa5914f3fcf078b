/**
 * How often the CPUs were throttled for heat, from the kernel's x86 thermal throttle
 * counters: `/sys/devices/system/cpu/cpuN/thermal_throttle/{core,package}_throttle_count`
 * (Documentation/ABI/testing/sysfs-devices-system-cpu: events since boot). Every logical
 * CPU shows the count of its core and of its package, so each core is counted once per
 * (package, core id) and each package once per package id. Machines without the files
 * (most VMs, other architectures) have no counts: nothing is judged, nothing is said.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

export interface CpuThrottleCounts {
  /** Package throttling events, summed over packages. */
  package?: number;
  /** Core throttling events, summed over physical cores. */
  core?: number;
}

/** The counts under `<fsRoot>/sys`; undefined where the kernel exposes none. Never rejects. */
export async function readCpuThrottle(fsRoot = '/'): Promise<CpuThrottleCounts | undefined> {
  const base = path.join(fsRoot, 'sys/devices/system/cpu');
  let cpus: string[];
  try {
    cpus = (await readdir(base)).filter((d) => /^cpu\d+$/.test(d));
  } catch {
    return undefined;
  }
  const packages = new Map<string, number>();
  const cores = new Map<string, number>();
  await Promise.all(
    cpus.map(async (cpu) => {
      const dir = path.join(base, cpu);
      const [pkgCount, coreCount, pkgId, coreId] = await Promise.all([
        readNumber(path.join(dir, 'thermal_throttle/package_throttle_count')),
        readNumber(path.join(dir, 'thermal_throttle/core_throttle_count')),
        readNumber(path.join(dir, 'topology/physical_package_id')),
        readNumber(path.join(dir, 'topology/core_id')),
      ]);
      // Without its topology a CPU counts on its own: never merged with another by mistake.
      const pkg = pkgId !== undefined ? String(pkgId) : cpu;
      if (pkgCount !== undefined) packages.set(pkg, pkgCount);
      if (coreCount !== undefined) cores.set(coreId !== undefined ? `${pkg}/${coreId}` : cpu, coreCount);
    }),
  );
  if (packages.size === 0 && cores.size === 0) return undefined;
  const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
  return {
    ...(packages.size > 0 ? { package: sum(packages) } : {}),
    ...(cores.size > 0 ? { core: sum(cores) } : {}),
  };
}

async function readNumber(file: string): Promise<number | undefined> {
  try {
    const text = (await readFile(file, 'utf8')).trim();
    return /^\d+$/.test(text) ? Number(text) : undefined;
  } catch {
    return undefined;
  }
}

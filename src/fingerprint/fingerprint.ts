/**
 * A machine's hardware fingerprint: the probe's sections and the Docker engine's answers
 * parsed into one typed record (`buildFingerprint`, pure), a stable hash of the parts that
 * bear on performance (`fingerprintHash`), and the summary the core port carries
 * (`toHardwareFacts`).
 *
 * A section that is missing leaves its fields absent; one that is present but unreadable
 * does too, and says why in `problems`. Nothing here throws on bad input.
 */
import { errorMessage, type HardwareFacts } from '../core/index.js';
import { detectFpgas, type FpgaInfo } from './fpga.js';
import { parseCaches, parseCpuinfo, parseGovernor, type CpuCache, type CpuInfo } from './parse-cpu.js';
import { parseDisks, type DiskInfo } from './parse-disks.js';
import { parseDockerInfo, type DockerInfo } from './parse-docker.js';
import {
  gpusFromNvidiaSmi,
  gpusFromPci,
  gpusFromProcfs,
  parseNvidiaDriverVersion,
  withPciDeviceIds,
  type GpuFingerprint,
} from './parse-gpu.js';
import { parseMeminfo, parseThp, type MemoryInfo } from './parse-memory.js';
import {
  detectVirtualization,
  parseKernel,
  parseOsRelease,
  type OsInfo,
  type Virtualization,
} from './parse-os.js';
import { mergePci, parseLspci, parseSysfsPci } from './parse-pci.js';
import { parseXbutilJson, parseXbutilText } from './parse-xbutil.js';
import { toolStatuses } from './probe-script.js';

export { fingerprintHash, fingerprintKey } from './hash.js';

export interface CpuFingerprint extends CpuInfo {
  /** cpu0's caches, by level then type. */
  caches: CpuCache[];
  /** cpu0's cpufreq governor; absent where the (virtual) machine exposes no cpufreq. */
  governor?: string;
}

export interface Fingerprint {
  cpu?: CpuFingerprint;
  memory?: MemoryInfo;
  disks?: DiskInfo[];
  /** Kernel release, e.g. `6.1.0-18-amd64`. */
  kernel?: string;
  os?: OsInfo;
  virtualization?: Virtualization;
  docker?: DockerInfo;
  /**
   * NVIDIA GPUs; `[]` when the machine has none, absent when nothing could tell (never `[]`
   * because nvidia-smi's output could not be read).
   */
  gpus?: GpuFingerprint[];
  /** FPGA cards; `[]` when the machine has none, absent when its PCI bus was not read. */
  fpgas?: FpgaInfo[];
  /** XRT's version, where `xbutil` ran. */
  xrtVersion?: string;
  /** What could not be collected or read, one sentence each; empty when nothing failed. */
  problems: string[];
}

/** What `buildFingerprint` works from: everything collected, nothing interpreted yet. */
export interface RawFingerprint {
  /** The probe's sections (`parseProbeOutput(...).sections`). */
  sections: Readonly<Record<string, string>>;
  /** False when the probe's output ended before its `end` marker. */
  complete?: boolean;
  /** `docker.info()`'s answer. */
  dockerInfo?: unknown;
  /** `docker.version()`'s answer. */
  dockerVersion?: unknown;
  /** Problems met while collecting, carried into the fingerprint. */
  problems?: readonly string[];
}

/** Parses every section present into one fingerprint; see the file comment for failures. */
export function buildFingerprint(raw: RawFingerprint): Fingerprint {
  const s = raw.sections;
  const problems = [...(raw.problems ?? [])];
  if (raw.complete === false) problems.push('the probe stopped before its end: later sections are missing');
  for (const [tool, status] of Object.entries(toolStatuses(s))) {
    if (status !== 0) problems.push(`${tool} exited with status ${status}`);
  }
  const read = <T>(name: string, parse: (text: string) => T | undefined): T | undefined => {
    const text = s[name];
    if (text === undefined) return undefined;
    try {
      const value = parse(text);
      if (value === undefined) problems.push(`section ${name}: nothing recognisable in it`);
      return value;
    } catch (err) {
      problems.push(`section ${name}: ${errorMessage(err)}`);
      return undefined;
    }
  };

  const fp: Omit<Fingerprint, 'problems'> = {};
  const cpu = read('cpuinfo', parseCpuinfo);
  if (cpu) {
    const governor = read('governor', parseGovernor);
    fp.cpu = { ...cpu, caches: read('caches', parseCaches) ?? [], ...(governor ? { governor } : {}) };
  }
  const memory = read('meminfo', parseMeminfo);
  if (memory) {
    const thp = read('thp', parseThp);
    fp.memory = { ...memory, ...(thp ? { transparentHugepages: thp } : {}) };
  }
  assign(fp, 'disks', read('disks', parseDisks));
  assign(fp, 'kernel', read('kernel', parseKernel));
  assign(fp, 'os', read('os-release', parseOsRelease));
  if (cpu || (s.virt ?? '').trim() !== '') {
    fp.virtualization = detectVirtualization(s.virt ?? '', cpu?.flags.includes('hypervisor') ?? false);
  }
  assign(fp, 'docker', parseDockerInfo(raw.dockerInfo, raw.dockerVersion));

  const pci = mergePci(read('pci', parseSysfsPci), read('lspci', parseLspci));
  assign(fp, 'gpus', gpus(s, read, pci));
  const xbutil = read('xbutil-json', parseXbutilJson) ?? read('xbutil', parseXbutilText);
  if (pci) fp.fpgas = detectFpgas(pci, xbutil?.devices);
  assign(fp, 'xrtVersion', xbutil?.xrtVersion);
  return { ...fp, problems };
}

type Reader = <T>(name: string, parse: (text: string) => T | undefined) => T | undefined;

/**
 * nvidia-smi when it answered, else the driver's procfs files, else PCI; absent (unknown,
 * never "none") when nothing could tell, or nvidia-smi's output was unreadable and PCI
 * shows no NVIDIA GPU.
 */
function gpus(
  s: Readonly<Record<string, string>>,
  read: Reader,
  pci: ReturnType<typeof mergePci>,
): GpuFingerprint[] | undefined {
  const smi = read('nvidia-smi', gpusFromNvidiaSmi);
  if (smi) return withPciDeviceIds(smi, pci);
  const prefix = 'nvidia-gpu ';
  const infos = Object.fromEntries(
    Object.entries(s)
      .filter(([name]) => name.startsWith(prefix))
      .map(([name, text]) => [name.slice(prefix.length), text]),
  );
  if (Object.keys(infos).length > 0) {
    return withPciDeviceIds(gpusFromProcfs(infos, read('nvidia-driver', parseNvidiaDriverVersion)), pci);
  }
  const fromPci = pci ? gpusFromPci(pci) : undefined;
  // nvidia-smi ran and said something unreadable: no NVIDIA function on the bus is then a
  // contradiction, not proof of "no GPUs" (unless it said so itself).
  const said = s['nvidia-smi'];
  if (fromPci?.length === 0 && said !== undefined && !/No devices were found/i.test(said)) return undefined;
  return fromPci;
}

function assign<K extends Exclude<keyof Fingerprint, 'problems'>>(
  fp: Omit<Fingerprint, 'problems'>,
  key: K,
  value: Fingerprint[K] | undefined,
): void {
  if (value !== undefined) fp[key] = value;
}

/**
 * The port's summary: CPU model, logical CPUs (what a benchmark can schedule on), memory,
 * kernel, and accelerators grouped by model.
 */
export function toHardwareFacts(fp: Fingerprint): HardwareFacts {
  type Item = { model: string; memoryMiB?: number; pciDeviceId?: string };
  const group = (items: Item[]) => {
    const byModel = new Map<string, Item & { count: number }>();
    for (const { model, memoryMiB, pciDeviceId } of items) {
      const key = `${model}\0${pciDeviceId ?? ''}`;
      const g = byModel.get(key) ?? {
        model,
        count: 0,
        ...(memoryMiB !== undefined ? { memoryMiB } : {}),
        ...(pciDeviceId ? { pciDeviceId } : {}),
      };
      g.count++;
      byModel.set(key, g);
    }
    return [...byModel.values()];
  };
  const out: HardwareFacts = {
    ...(fp.cpu ? { cpuModel: fp.cpu.model, cpuCores: fp.cpu.threads } : {}),
    ...(fp.memory ? { memoryBytes: fp.memory.totalBytes } : {}),
    ...(fp.kernel ? { kernel: fp.kernel } : {}),
  };
  if (fp.gpus) {
    out.gpus = group(
      fp.gpus.map((g) => ({
        model: g.model,
        ...(g.memoryTotalBytes !== undefined ? { memoryMiB: Math.round(g.memoryTotalBytes / 2 ** 20) } : {}),
        ...(g.pciDeviceId ? { pciDeviceId: g.pciDeviceId } : {}),
      })),
    );
  }
  if (fp.fpgas)
    out.fpgas = group(fp.fpgas.map((f) => ({ model: f.shell ?? f.model ?? `${f.vendorId}:${f.deviceId}` })));
  return out;
}

/**
 * The CPU, read from `/proc/cpuinfo` (x86 and arm64 layouts), cpu0's cache directories in
 * sysfs and cpu0's cpufreq governor. Pure functions over the probe's section texts.
 */

export interface CpuCache {
  level: number;
  type: 'Data' | 'Instruction' | 'Unified';
  sizeBytes: number;
}

export interface CpuInfo {
  /** `vendor_id` (`GenuineIntel`, `AuthenticAMD`) or the arm64 implementer's name. */
  vendor: string;
  /** `model name`, or for arm64 the core's name (e.g. `Neoverse-N1`). */
  model: string;
  sockets: number;
  /** Physical cores over all sockets (distinct `physical id`/`core id` pairs). */
  cores: number;
  /** Logical CPUs: what `nproc` and `os.cpus()` count. */
  threads: number;
  /** cpu0's feature flags, sorted, without duplicates. */
  flags: string[];
  microcode?: string;
}

type Block = Map<string, string>;

/** Parses `/proc/cpuinfo`; undefined when it lists no processor. */
export function parseCpuinfo(text: string): CpuInfo | undefined {
  const blocks = text
    .split(/\n\s*\n/)
    .map(parseBlock)
    .filter((b) => /^\d+$/.test(b.get('processor') ?? ''));
  const first = blocks[0];
  if (!first) return undefined;
  const sockets = new Set(blocks.map((b) => b.get('physical id') ?? '0'));
  const cores = new Set(
    blocks.map((b, i) => `${b.get('physical id') ?? '0'}:${b.get('core id') ?? `cpu${i}`}`),
  );
  const flags = (first.get('flags') ?? first.get('Features') ?? '').split(/\s+/).filter(Boolean);
  const microcode = first.get('microcode');
  return {
    vendor: first.get('vendor_id') ?? armImplementer(first.get('CPU implementer')) ?? 'unknown',
    model: first.get('model name') ?? armModel(first) ?? 'unknown',
    sockets: sockets.size,
    cores: cores.size,
    threads: blocks.length,
    flags: [...new Set(flags)].sort(),
    ...(microcode ? { microcode } : {}),
  };
}

function parseBlock(block: string): Block {
  const out: Block = new Map();
  for (const line of block.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) out.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  return out;
}

// arm64 implementer codes: Linux arch/arm64/include/asm/cputype.h (ARM_CPU_IMP_*).
const ARM_IMPLEMENTERS: Readonly<Record<number, string>> = {
  0x41: 'ARM',
  0x42: 'Broadcom',
  0x43: 'Cavium',
  0x46: 'Fujitsu',
  0x48: 'HiSilicon',
  0x4e: 'NVIDIA',
  0x50: 'APM',
  0x51: 'Qualcomm',
  0x61: 'Apple',
  0xc0: 'Ampere',
};

// Arm Ltd. server cores (ARM_CPU_PART_* in the same header): AWS Graviton2 = N1,
// Graviton3 = V1, Graviton4 = V2; Neoverse N2 in Azure Cobalt 100 and others.
const ARM_PARTS: Readonly<Record<number, string>> = {
  0xd0c: 'Neoverse-N1',
  0xd40: 'Neoverse-V1',
  0xd49: 'Neoverse-N2',
  0xd4f: 'Neoverse-V2',
};

function armImplementer(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  return ARM_IMPLEMENTERS[Number(raw)] ?? raw;
}

function armModel(b: Block): string | undefined {
  const imp = b.get('CPU implementer');
  const part = b.get('CPU part');
  if (imp === undefined || part === undefined) return undefined;
  return (Number(imp) === 0x41 ? ARM_PARTS[Number(part)] : undefined) ?? `implementer ${imp} part ${part}`;
}

/** Parses the probe's `caches` section: `level<TAB>type<TAB>size` per cache of cpu0. */
export function parseCaches(text: string): CpuCache[] {
  const out: CpuCache[] = [];
  for (const line of text.split('\n')) {
    const [level, type, size] = line.split('\t');
    const sizeBytes = parseSize(size);
    if (!/^\d+$/.test(level ?? '') || sizeBytes === undefined) continue;
    if (type !== 'Data' && type !== 'Instruction' && type !== 'Unified') continue;
    out.push({ level: Number(level), type, sizeBytes });
  }
  return out.sort((a, b) => a.level - b.level || a.type.localeCompare(b.type));
}

/** sysfs cache sizes: `32K`, `32768K`, `1M`. */
function parseSize(raw: string | undefined): number | undefined {
  const m = /^(\d+)([KMG]?)$/i.exec(raw?.trim() ?? '');
  if (!m) return undefined;
  const unit = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[m[2]!.toUpperCase() as '' | 'K' | 'M' | 'G'];
  return Number(m[1]) * unit;
}

/** The `governor` section: one word such as `performance`; undefined when empty. */
export function parseGovernor(text: string): string | undefined {
  const g = text.trim();
  return /^[\w-]+$/.test(g) ? g : undefined;
}

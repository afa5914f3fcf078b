/**
 * The fingerprint's hash: two machines get the same one when a benchmark should behave
 * the same on both. It covers what sets performance (CPU model and topology, caches,
 * selected ISA extensions, governor, memory size, kernel major.minor, accelerators and
 * their drivers' major versions, FPGA shells, the storage driver, the virtualization) and
 * leaves out whatever differs between identical machines: uuids, serials, PCI slots,
 * host names, microcode revisions, free memory.
 *
 * Per GPU it also covers the PCI device id, the power limit in force, and the current ECC
 * and MIG modes (a card capped at 200 W of 350 W is not the uncapped card). These were
 * added without changing anything else the hash covers: a machine without GPUs keeps the
 * hash it had before; a machine with GPUs gets a new one (see `GPU_KEY_FIELDS`).
 */
import { createHash } from 'node:crypto';
import stringify from 'safe-stable-stringify';
import type { Fingerprint } from './fingerprint.js';
import { kernelMajorMinor } from './parse-os.js';

/**
 * ISA extensions that change which code paths a benchmark takes. A flag outside this
 * list (e.g. a mitigation or a hypervisor quirk) does not change the hash.
 */
export const PERFORMANCE_FLAGS: readonly string[] = [
  // x86
  'aes',
  'amx_bf16',
  'amx_int8',
  'amx_tile',
  'avx',
  'avx2',
  'avx512_bf16',
  'avx512_fp16',
  'avx512_vnni',
  'avx512bw',
  'avx512cd',
  'avx512dq',
  'avx512f',
  'avx512vl',
  'avx_vnni',
  'fma',
  'sha_ni',
  'vaes',
  'vpclmulqdq',
  // arm64
  'asimd',
  'bf16',
  'i8mm',
  'sve',
  'sve2',
];

const GIB = 2 ** 30;

/**
 * What each GPU contributes. The last four were added later: hashes of GPU machines taken
 * before differ from those taken since, and `compare` (which treats hashes as opaque)
 * then reports such runs as different hardware fingerprints.
 */
export const GPU_KEY_FIELDS = [
  'model',
  'memoryGiB',
  'driverMajor',
  'pciDeviceId',
  'powerLimitW',
  'ecc',
  'mig',
] as const;

/** The canonical, hashed view of a fingerprint (exported to show what the hash covers). */
export function fingerprintKey(fp: Fingerprint): Record<string, unknown> {
  const cpu = fp.cpu && {
    model: fp.cpu.model,
    sockets: fp.cpu.sockets,
    cores: fp.cpu.cores,
    threads: fp.cpu.threads,
    caches: fp.cpu.caches.map((c) => `L${c.level}${c.type[0]}:${c.sizeBytes}`).sort(),
    flags: PERFORMANCE_FLAGS.filter((f) => fp.cpu!.flags.includes(f)),
    governor: fp.cpu.governor ?? null,
  };
  const gpus =
    fp.gpus &&
    counted(
      fp.gpus.map((g): Record<(typeof GPU_KEY_FIELDS)[number], unknown> => ({
        model: g.model,
        memoryGiB: g.memoryTotalBytes === undefined ? null : Math.round(g.memoryTotalBytes / GIB),
        driverMajor: g.driverVersion?.split('.')[0] ?? null,
        pciDeviceId: g.pciDeviceId ?? null,
        // Whole watts: a limit read as 199.99 W is the 200 W one.
        powerLimitW:
          g.powerLimitsWatts?.enforced === undefined ? null : Math.round(g.powerLimitsWatts.enforced),
        ecc: g.eccEnabled ?? null,
        mig: g.migEnabled ?? null,
      })),
    );
  const fpgas =
    fp.fpgas &&
    counted(fp.fpgas.map((f) => ({ vendorId: f.vendorId, deviceId: f.deviceId, shell: f.shell ?? null })));
  return {
    v: 1,
    cpu: cpu ?? null,
    memoryGiB: fp.memory ? Math.round(fp.memory.totalBytes / GIB) : null,
    kernel: (fp.kernel && kernelMajorMinor(fp.kernel)) ?? null,
    gpus: gpus ?? null,
    fpgas: fpgas ?? null,
    storageDriver: fp.docker?.storageDriver ?? null,
    virtualization: fp.virtualization ?? null,
  };
}

/** sha256 of the canonical JSON of `fingerprintKey(fp)`, first 16 hex digits. */
export function fingerprintHash(fp: Fingerprint): string {
  const json = stringify(fingerprintKey(fp));
  return createHash('sha256').update(json).digest('hex').slice(0, 16);
}

/** Identical items collapsed into one with a count, in a stable order. */
function counted<T extends object>(items: T[]): (T & { count: number })[] {
  const byKey = new Map<string, T & { count: number }>();
  for (const item of items) {
    const key = stringify(item);
    const entry = byKey.get(key) ?? { ...item, count: 0 };
    entry.count++;
    byKey.set(key, entry);
  }
  return [...byKey.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, e]) => e);
}

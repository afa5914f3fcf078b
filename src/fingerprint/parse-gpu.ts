/**
 * NVIDIA GPUs of a machine, from the best source the probe got:
 * 1. `nvidia-smi -q -x` (only inside a container the NVIDIA toolkit equipped): everything;
 * 2. the driver's procfs files `/proc/driver/nvidia/version` and `gpus/<bdf>/information`:
 *    model, uuid and driver version, without memory, clocks or power;
 * 3. PCI functions of vendor 10de with a display class: the count and device id only.
 */
import { parseGpuDetailsXml } from '../metrics/gpu/inventory.js';
import type { PciFunction } from './parse-pci.js';

export interface GpuFingerprint {
  index: number;
  /** `Tesla T4`, `NVIDIA A100-SXM4-80GB`; `NVIDIA [10de:1eb8]` when only PCI saw it. */
  model: string;
  uuid?: string;
  pciBusId?: string;
  /** PCI `vendor:device` in lowercase hex (`10de:1eb8`): the same for every card of a model. */
  pciDeviceId?: string;
  driverVersion?: string;
  cudaVersion?: string;
  architecture?: string;
  memoryTotalBytes?: number;
  maxClocksMHz?: { graphics?: number; sm?: number; memory?: number; video?: number };
  powerLimitsWatts?: { default?: number; enforced?: number; min?: number; max?: number };
  persistenceMode?: boolean;
  eccEnabled?: boolean;
  migEnabled?: boolean;
  /** Where the entry came from; later sources know less. */
  source: 'nvidia-smi' | 'procfs' | 'pci' | 'provider';
}

/** From `nvidia-smi -q -x`. Throws when the text is not its XML (e.g. an error message). */
export function gpusFromNvidiaSmi(xml: string): GpuFingerprint[] {
  const inv = parseGpuDetailsXml(xml);
  return inv.gpus.map((g) => ({
    index: g.index,
    model: g.name,
    uuid: g.uuid,
    ...(g.pciBusId ? { pciBusId: g.pciBusId } : {}),
    ...(g.pciDeviceId ? { pciDeviceId: g.pciDeviceId } : {}),
    driverVersion: inv.driverVersion,
    ...(inv.cudaVersion ? { cudaVersion: inv.cudaVersion } : {}),
    ...(g.architecture ? { architecture: g.architecture } : {}),
    ...(g.memoryTotalBytes !== undefined ? { memoryTotalBytes: g.memoryTotalBytes } : {}),
    maxClocksMHz: g.maxClocksMHz,
    powerLimitsWatts: g.powerLimitsWatts,
    ...(g.persistenceMode !== undefined ? { persistenceMode: g.persistenceMode } : {}),
    ...(g.eccEnabled !== undefined ? { eccEnabled: g.eccEnabled } : {}),
    ...(g.migEnabled !== undefined ? { migEnabled: g.migEnabled } : {}),
    source: 'nvidia-smi' as const,
  }));
}

/**
 * The kernel module's version from `/proc/driver/nvidia/version`, either
 * `NVRM version: NVIDIA UNIX x86_64 Kernel Module  384.98  Thu Oct 26 …` (proprietary) or
 * `NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  565.57.01  Release Build …`.
 */
export function parseNvidiaDriverVersion(text: string): string | undefined {
  return /Kernel Module(?: for \S+)?\s+(\d+(?:\.\d+)+)\s/.exec(text + ' ')?.[1];
}

/**
 * From procfs: `information` texts by the BDF directory they came from. Each holds lines
 * like `Model:           Tesla T4`, `GPU UUID:        GPU-…`, `Bus Location:    0000:00:1e.0`.
 */
export function gpusFromProcfs(
  informations: Readonly<Record<string, string>>,
  driverVersion?: string,
): GpuFingerprint[] {
  return Object.entries(informations)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([bdf, info], index) => {
      const field = (key: string) => new RegExp(`^${key}:\\s*(.+)$`, 'm').exec(info)?.[1]?.trim();
      const uuid = field('GPU UUID');
      return {
        index,
        model: field('Model') ?? 'NVIDIA GPU',
        ...(uuid && /^GPU-/.test(uuid) ? { uuid } : {}),
        pciBusId: field('Bus Location') ?? bdf,
        ...(driverVersion ? { driverVersion } : {}),
        source: 'procfs' as const,
      };
    });
}

/**
 * Fills in the PCI id of GPUs whose source did not say it (procfs never does; some
 * `nvidia-smi -q -x` files carry a zeroed one) from the PCI function at their bus address.
 */
export function withPciDeviceIds(
  gpus: readonly GpuFingerprint[],
  functions: readonly PciFunction[] | undefined,
): GpuFingerprint[] {
  const bySlot = new Map((functions ?? []).map((f) => [busAddress(f.slot), f]));
  return gpus.map((g) => {
    const f = g.pciDeviceId || !g.pciBusId ? undefined : bySlot.get(busAddress(g.pciBusId));
    return f ? { ...g, pciDeviceId: `${f.vendorId}:${f.deviceId}` } : g;
  });
}

/** `00000000:00:1E.0` (nvidia-smi: 8-digit domain) and `0000:00:1e.0` (sysfs) → `0:00:1e.0`. */
function busAddress(slot: string): string {
  const parts = slot.toLowerCase().split(':');
  const domain = parts.length > 2 ? parseInt(parts[0]!, 16) : 0;
  return [domain, ...parts.slice(-2)].join(':');
}

/** From PCI: NVIDIA functions of class VGA (0300) or 3D controller (0302). */
export function gpusFromPci(functions: readonly PciFunction[]): GpuFingerprint[] {
  return functions
    .filter((f) => f.vendorId === '10de' && (f.classId === '0300' || f.classId === '0302'))
    .map((f, index) => ({
      index,
      model: f.name ?? `NVIDIA [10de:${f.deviceId}]`,
      pciBusId: f.slot,
      pciDeviceId: `10de:${f.deviceId}`,
      source: 'pci' as const,
    }));
}

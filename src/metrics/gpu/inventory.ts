/**
 * The GPUs of a machine, read from `nvidia-smi -q -x` XML (schemas v11 to v13): driver and
 * CUDA versions, and per GPU its index, uuid, name, PCI bus and device ids, memory and power
 * limit. Recorded once per machine, next to the metrics that `NvidiaSmiSource` streams.
 * `parseGpuDetailsXml` adds what a hardware fingerprint needs: maximum clocks, power
 * limits, persistence, ECC and MIG modes.
 */
import { child, parseSmiLog, text, type Node } from './smi-xml.js';

export interface GpuInfo {
  /** nvidia-smi's index: the GPUs' order in the document (PCI bus order). */
  index: number;
  uuid: string;
  name: string;
  pciBusId: string;
  /**
   * `vendor:device` in lowercase hex, e.g. `10de:2204`: what an old driver that names the GPU
   * "Graphics Device" still tells apart. Absent where the XML's `<pci_device_id>` is missing
   * or zeroed.
   */
  pciDeviceId?: string;
  /** Frame buffer size; absent where nvidia-smi reports N/A. */
  memoryTotalBytes?: number;
  /** The power limit in force, in watts. */
  powerLimitWatts?: number;
}

export interface GpuInventory {
  driverVersion: string;
  /** Absent on drivers older than the CUDA 10 era, whose XML has no `cuda_version`. */
  cudaVersion?: string;
  gpus: GpuInfo[];
}

/**
 * What asking a machine for its GPUs found. `none` only on evidence (no nvidia-smi, or it
 * says there is no usable GPU); output that cannot be read is `unknown`, never "no GPUs":
 * placement then leaves the decision to the machine's engine.
 */
export type GpuInventoryResult =
  | { status: 'known'; inventory: GpuInventory }
  | { status: 'none'; reason: string }
  | { status: 'unknown'; reason: string };

/** A GPU's settings that bear on performance, beyond `GpuInfo`. */
export interface GpuDetails extends GpuInfo {
  /** `product_architecture`, e.g. `Ampere` (schema v11+ on recent drivers). */
  architecture?: string;
  persistenceMode?: boolean;
  /** Current ECC mode; absent where the GPU has none (GeForce). */
  eccEnabled?: boolean;
  /** Current MIG mode; absent on GPUs without MIG. */
  migEnabled?: boolean;
  /** `<max_clocks>`, in MHz. */
  maxClocksMHz: { graphics?: number; sm?: number; memory?: number; video?: number };
  /** Power limits in watts: the default, the one in force, and the range it may be set in. */
  powerLimitsWatts: { default?: number; enforced?: number; min?: number; max?: number };
}

export interface GpuDetailsInventory {
  driverVersion: string;
  cudaVersion?: string;
  gpus: GpuDetails[];
}

const MIB = 1024 * 1024;

/** Parses `nvidia-smi -q -x` output. Throws when it is not an `nvidia_smi_log` document. */
export function parseGpuInventoryXml(xml: string): GpuInventory {
  const { header, gpuNodes } = parseLog(xml);
  return { ...header, gpus: gpuNodes.map((gpu, index) => gpuInfo(gpu, index)) };
}

/** Like `parseGpuInventoryXml`, with each GPU's clocks, power limits and modes. */
export function parseGpuDetailsXml(xml: string): GpuDetailsInventory {
  const { header, gpuNodes } = parseLog(xml);
  return { ...header, gpus: gpuNodes.map((gpu, index) => gpuDetails(gpu, index)) };
}

function parseLog(xml: string): { header: Omit<GpuInventory, 'gpus'>; gpuNodes: Node[] } {
  const { log, gpus: gpuNodes } = parseSmiLog(xml);
  // 610 marks driver_version deprecated ("610.57.04 [Deprecated; … Use KMD Version instead]"
  // in its -q text) in favour of kmd_version: the leading version of either.
  const driverVersion = versionOf(text(log, 'driver_version')) ?? versionOf(text(log, 'kmd_version'));
  if (!driverVersion) throw new Error('nvidia-smi -q -x output without <driver_version>');
  const cudaVersion = text(log, 'cuda_version');
  return { header: { driverVersion, ...(cudaVersion ? { cudaVersion } : {}) }, gpuNodes };
}

function gpuInfo(gpu: Node, index: number): GpuInfo {
  const uuid = text(gpu, 'uuid');
  if (!uuid) throw new Error(`nvidia-smi -q -x output: GPU ${index} without <uuid>`);
  const id = gpu['@_id'];
  const pciBusId = text(child(gpu, 'pci'), 'pci_bus_id') ?? (typeof id === 'string' ? id : '');
  const pciDeviceId = pciIdOf(text(child(gpu, 'pci'), 'pci_device_id'));
  const memoryTotalBytes = quantity(text(child(gpu, 'fb_memory_usage'), 'total'), 'MiB');
  // Schema v12+ has <gpu_power_readings><current_power_limit>; v11 has <power_readings>
  // with <enforced_power_limit> (the one in force) and <power_limit>.
  const v12 = child(gpu, 'gpu_power_readings');
  const v11 = child(gpu, 'power_readings');
  const powerLimitWatts =
    quantity(text(v12, 'current_power_limit'), 'W') ??
    quantity(text(v11, 'enforced_power_limit'), 'W') ??
    quantity(text(v11, 'power_limit'), 'W');
  return {
    index,
    uuid,
    name: text(gpu, 'product_name') ?? '',
    pciBusId,
    ...(pciDeviceId ? { pciDeviceId } : {}),
    ...(memoryTotalBytes !== undefined ? { memoryTotalBytes: memoryTotalBytes * MIB } : {}),
    ...(powerLimitWatts !== undefined ? { powerLimitWatts } : {}),
  };
}

function gpuDetails(gpu: Node, index: number): GpuDetails {
  const architecture = text(gpu, 'product_architecture');
  const persistence = mode(text(gpu, 'persistence_mode'));
  const ecc = mode(text(child(gpu, 'ecc_mode'), 'current_ecc'));
  const mig = mode(text(child(gpu, 'mig_mode'), 'current_mig'));
  const clocks = child(gpu, 'max_clocks');
  const mhz = (key: string) => quantity(text(clocks, key), 'MHz');
  // v12+: <gpu_power_readings> with current_power_limit; v11: <power_readings> with
  // enforced_power_limit. Both have default/min/max_power_limit.
  const power = child(gpu, 'gpu_power_readings') ?? child(gpu, 'power_readings');
  const watts = (key: string) => quantity(text(power, key), 'W');
  return {
    ...gpuInfo(gpu, index),
    ...(architecture ? { architecture } : {}),
    ...(persistence !== undefined ? { persistenceMode: persistence } : {}),
    ...(ecc !== undefined ? { eccEnabled: ecc } : {}),
    ...(mig !== undefined ? { migEnabled: mig } : {}),
    maxClocksMHz: defined({
      graphics: mhz('graphics_clock'),
      sm: mhz('sm_clock'),
      memory: mhz('mem_clock'),
      video: mhz('video_clock'),
    }),
    powerLimitsWatts: defined({
      default: watts('default_power_limit'),
      enforced: watts('current_power_limit') ?? watts('enforced_power_limit'),
      min: watts('min_power_limit'),
      max: watts('max_power_limit'),
    }),
  };
}

/**
 * nvidia-smi writes the PCI id as one 32-bit number, device in the high half and vendor in
 * the low (`1EB810DE`, `0x1EB810DE` in CSV) → `10de:1eb8`. A zero device (seen in published
 * files with the id blanked out) tells nothing → undefined.
 */
export function pciIdOf(raw: string | undefined): string | undefined {
  const m = /^(?:0x)?([0-9a-f]{4})([0-9a-f]{4})$/i.exec(raw?.trim() ?? '');
  if (!m || /^0+$/.test(m[1]!) || /^0+$/.test(m[2]!)) return undefined;
  return `${m[2]!.toLowerCase()}:${m[1]!.toLowerCase()}`;
}

function versionOf(raw: string | undefined): string | undefined {
  return /^\d+(?:\.\d+)*/.exec(raw ?? '')?.[0];
}

/** `Enabled`/`Disabled` → boolean; N/A and anything else → undefined. */
function mode(raw: string | undefined): boolean | undefined {
  return raw === 'Enabled' ? true : raw === 'Disabled' ? false : undefined;
}

/** The object without its undefined values. */
function defined<T extends Record<string, number | undefined>>(o: T): { [K in keyof T]?: number } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]?: number;
  };
}

/** `"15360 MiB"` with unit `MiB` → 15360; anything else (N/A, another unit) → undefined. */
function quantity(raw: string | undefined, unit: string): number | undefined {
  const m = raw === undefined ? null : /^([+-]?\d+(?:\.\d+)?)\s*(\S+)$/.exec(raw);
  if (!m || m[2] !== unit) return undefined;
  const n = Number(m[1]);
  return Number.isFinite(n) ? n : undefined;
}

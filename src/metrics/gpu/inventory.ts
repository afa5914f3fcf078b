/**
 * The GPUs of a machine, read from `nvidia-smi -q -x` XML (schemas v11 to v13): driver and
 * CUDA versions, and per GPU its index, uuid, name, PCI bus id, memory and power limit.
 * Recorded once per machine, next to the metrics that `NvidiaSmiSource` streams.
 */
import { XMLParser } from 'fast-xml-parser';

export interface GpuInfo {
  /** nvidia-smi's index: the GPUs' order in the document (PCI bus order). */
  index: number;
  uuid: string;
  name: string;
  pciBusId: string;
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

type Node = { [key: string]: unknown };

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
});

const MIB = 1024 * 1024;

/** Parses `nvidia-smi -q -x` output. Throws when it is not an `nvidia_smi_log` document. */
export function parseGpuInventoryXml(xml: string): GpuInventory {
  const doc: unknown = parser.parse(xml);
  const log = child(doc, 'nvidia_smi_log');
  if (!log) throw new Error('not nvidia-smi -q -x output: no <nvidia_smi_log> element');
  const driverVersion = text(log, 'driver_version');
  if (!driverVersion) throw new Error('nvidia-smi -q -x output without <driver_version>');
  const cudaVersion = text(log, 'cuda_version');
  const gpuNodes = (Array.isArray(log.gpu) ? log.gpu : [log.gpu]).filter(isNode);
  return {
    driverVersion,
    ...(cudaVersion ? { cudaVersion } : {}),
    gpus: gpuNodes.map((gpu, index) => gpuInfo(gpu, index)),
  };
}

function gpuInfo(gpu: Node, index: number): GpuInfo {
  const uuid = text(gpu, 'uuid');
  if (!uuid) throw new Error(`nvidia-smi -q -x output: GPU ${index} without <uuid>`);
  const id = gpu['@_id'];
  const pciBusId = text(child(gpu, 'pci'), 'pci_bus_id') ?? (typeof id === 'string' ? id : '');
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
    ...(memoryTotalBytes !== undefined ? { memoryTotalBytes: memoryTotalBytes * MIB } : {}),
    ...(powerLimitWatts !== undefined ? { powerLimitWatts } : {}),
  };
}

function isNode(v: unknown): v is Node {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function child(node: unknown, key: string): Node | undefined {
  if (!isNode(node)) return undefined;
  const v = node[key];
  return isNode(v) ? v : undefined;
}

/** An element's text; undefined when absent, empty or N/A. */
function text(node: Node | undefined, key: string): string | undefined {
  const v = node?.[key];
  if (typeof v !== 'string') return undefined;
  const s = v.trim();
  return s === '' || /^N\/A$/i.test(s) ? undefined : s;
}

/** `"15360 MiB"` with unit `MiB` → 15360; anything else (N/A, another unit) → undefined. */
function quantity(raw: string | undefined, unit: string): number | undefined {
  const m = raw === undefined ? null : /^([+-]?\d+(?:\.\d+)?)\s*(\S+)$/.exec(raw);
  if (!m || m[2] !== unit) return undefined;
  const n = Number(m[1]);
  return Number.isFinite(n) ? n : undefined;
}

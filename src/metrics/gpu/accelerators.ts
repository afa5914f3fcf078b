/**
 * An `nvidia-smi -q -x` inventory in the terms placement compares machines in
 * (`AcceleratorInfo`, src/core): NVIDIA's data shaped here, next to its parser, so core and
 * the providers know no NVIDIA format.
 */
import type { AcceleratorInfo } from '../../core/index.js';
import type { GpuInventory, GpuInventoryResult } from './inventory.js';

/**
 * GPUs grouped by model and PCI id, as placement compares them. Only for an inventory that
 * was read: GPUs that could not be read are unknown (no `gpus` in `TargetFacts`), never an
 * empty list.
 */
export function gpusByModel(
  inventory: Pick<GpuInventory, 'driverVersion'> & {
    gpus: readonly { name: string; memoryTotalBytes?: number; pciDeviceId?: string }[];
  },
): AcceleratorInfo[] {
  const byModel = new Map<string, AcceleratorInfo>();
  for (const g of inventory.gpus) {
    const key = `${g.name}\0${g.pciDeviceId ?? ''}`;
    const seen = byModel.get(key);
    if (seen) seen.count++;
    else
      byModel.set(key, {
        model: g.name,
        count: 1,
        driver: inventory.driverVersion,
        ...(g.memoryTotalBytes ? { memoryMiB: Math.round(g.memoryTotalBytes / 2 ** 20) } : {}),
        ...(g.pciDeviceId ? { pciDeviceId: g.pciDeviceId } : {}),
      });
  }
  return [...byModel.values()];
}

/**
 * A machine's GPUs from asking nvidia-smi: `[]` only on evidence of none (no nvidia-smi, no
 * usable device), `undefined` when its output could not be read (unknown: the engine decides).
 */
export function gpuFacts(result: GpuInventoryResult): readonly AcceleratorInfo[] | undefined {
  if (result.status === 'known') return gpusByModel(result.inventory);
  return result.status === 'none' ? [] : undefined;
}

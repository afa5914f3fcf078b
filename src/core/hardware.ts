/**
 * What is known of a machine's hardware without running the fingerprint probe: what a
 * provider knows of one machine (`HardwareFacts`, e.g. from the instance type), and what a
 * target's machines have before one is acquired (`TargetFacts`, for placement). The probe's
 * full result is `Fingerprint` (src/fingerprint).
 */

/** What a provider knows of a machine's hardware (instance type facts, this machine looked at). */
export interface HardwareFacts {
  cpuModel?: string;
  cpuCores?: number;
  memoryBytes?: number;
  kernel?: string;
  /** Accelerators by model, e.g. `{ model: 'NVIDIA T4', count: 1, memoryMiB: 16384 }`. */
  gpus?: readonly AcceleratorInfo[];
  fpgas?: readonly AcceleratorInfo[];
}

export interface AcceleratorInfo {
  model: string;
  count: number;
  memoryMiB?: number;
  /** Driver version, where known (NVIDIA: e.g. `535.104.05`). */
  driver?: string;
  /** PCI `vendor:device`, lowercase hex (e.g. `10de:2204`), where known. */
  pciDeviceId?: string;
}

/**
 * What a target's machines have, as far as it is known before one is acquired; placement
 * skips the cells whose requirements they cannot meet. An absent field is unknown (the
 * cell is kept; the machine's engine has the last word when the container starts).
 */
export interface TargetFacts {
  /** GPUs (an empty list: known to have none; absent: unknown, e.g. nvidia-smi's output unreadable). */
  gpus?: readonly AcceleratorInfo[];
  fpgas?: readonly AcceleratorInfo[];
  /** Whether the Docker engine has the NVIDIA runtime. */
  nvidiaRuntime?: boolean;
  /** Whether a device node exists on the machine; absent: unknown. */
  hasDevice?(path: string): boolean;
}

/**
 * Hardware fingerprints: what a machine is, as far as benchmark results depend on it.
 * `collectFingerprint` gathers it through the machine's Docker engine; the parsers and
 * `buildFingerprint` are pure; `fingerprintHash` says whether two machines count as the same.
 */
export { collectFingerprint, PROBE_LABEL, type CollectOptions } from './collect.js';
export {
  buildFingerprint,
  toHardwareFacts,
  type CpuFingerprint,
  type Fingerprint,
  type RawFingerprint,
} from './fingerprint.js';
export { fingerprintHash, fingerprintKey, GPU_KEY_FIELDS, PERFORMANCE_FLAGS } from './hash.js';
export {
  PROBE_SCRIPT,
  formatProbeOutput,
  parseProbeOutput,
  toolStatuses,
  type ProbeOutput,
} from './probe-script.js';
export { parseCaches, parseCpuinfo, parseGovernor, type CpuCache, type CpuInfo } from './parse-cpu.js';
export { parseMeminfo, parseThp, type MemoryInfo } from './parse-memory.js';
export { parseDisks, type DiskInfo } from './parse-disks.js';
export { deviceOf, mergePci, parseLspci, parseSysfsPci, type PciFunction } from './parse-pci.js';
export { detectFpgas, isFpgaFunction, type FpgaInfo } from './fpga.js';
export { parseXbutilJson, parseXbutilText, type XbutilDevice, type XbutilReport } from './parse-xbutil.js';
export {
  gpusFromNvidiaSmi,
  gpusFromPci,
  gpusFromProcfs,
  parseNvidiaDriverVersion,
  withPciDeviceIds,
  type GpuFingerprint,
} from './parse-gpu.js';
export {
  detectVirtualization,
  kernelMajorMinor,
  parseKernel,
  parseOsRelease,
  type OsInfo,
  type Virtualization,
} from './parse-os.js';
export { parseDockerInfo, type DockerInfo } from './parse-docker.js';

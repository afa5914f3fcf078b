/**
 * What a container gets from its machine's hardware, as Docker's HostConfig says it:
 * NVIDIA GPUs as `DeviceRequests` (driver nvidia, capability gpu, a count or device ids),
 * device nodes as `Devices` (explicit container path and cgroup permissions), patterns as
 * `DeviceCgroupRules`. And the daemon's answers when that fails at start, made clear.
 *
 * A GPU requirement with a `model` or `pci` selects GPUs: where the machine's GPUs are known
 * (its fingerprint: uuid, name, PCI id), the container gets the uuids of the first `count`
 * that fit (all that fit for `all`) as `DeviceIDs`; where they are not, a `Count`, and the
 * engine picks (on a machine of one GPU model, the same thing).
 */
import type Docker from 'dockerode';
import { InfrastructureError, type MachineGpu, type Requirements } from '../core/index.js';
import { dockerFailure, dockerMessage } from './docker-errors.js';

export type { MachineGpu };

/**
 * The uuids of the machine's GPUs the requirement selects, in the machine's order; undefined
 * when there is nothing to select (no `model`/`pci`, explicit `ids`) or the machine's GPUs,
 * or one's uuid or PCI id, are not known: then the engine picks by count. Throws when the
 * known GPUs cannot satisfy it, naming what the machine has.
 */
export function selectGpus(
  gpu: NonNullable<Requirements['gpu']>,
  machineGpus: readonly MachineGpu[] | undefined,
): string[] | undefined {
  if (gpu.ids || (!gpu.model && !gpu.pci) || !machineGpus) return undefined;
  const fits = machineGpus.map((g) => fitsGpu(gpu, g));
  if (fits.includes(undefined) || machineGpus.some((g) => !g.uuid)) return undefined;
  const uuids = machineGpus.filter((_, i) => fits[i]).map((g) => g.uuid!);
  const need = gpu.count === 'all' ? 1 : gpu.count;
  if (uuids.length < need) {
    const wanted = [
      ...(gpu.model ? [`matching /${gpu.model}/i`] : []),
      ...(gpu.pci ? [`with PCI id ${gpu.pci.join(' or ')}`] : []),
    ].join(' or ');
    const has = machineGpus.map((g) => `${g.model}${g.pciDeviceId ? ` [${g.pciDeviceId}]` : ''}`);
    throw new InfrastructureError(
      `the benchmark needs ${need} GPU${need > 1 ? 's' : ''} ${wanted}; this machine has ${has.join(', ') || 'none'}`,
      { reason: 'no-fitting-gpu' },
    );
  }
  return gpu.count === 'all' ? uuids : uuids.slice(0, need);
}

/** Placement's rule (src/plan/requirements.ts `gpuFits`), here so the engine stays below plan. */
function fitsGpu(gpu: NonNullable<Requirements['gpu']>, g: MachineGpu): boolean | undefined {
  if (gpu.model && new RegExp(gpu.model, 'i').test(g.model)) return true;
  if (!gpu.pci) return false;
  return g.pciDeviceId === undefined ? undefined : gpu.pci.includes(g.pciDeviceId.toLowerCase());
}

export function deviceAccess(
  access: Requirements | undefined,
  machineGpus?: readonly MachineGpu[],
): Partial<Docker.HostConfig> {
  if (!access) return {};
  const devices = [...access.devices, ...(access.fpga?.devices ?? [])];
  const gpu = access.gpu;
  const selected = gpu && selectGpus(gpu, machineGpus);
  const ids = gpu?.ids ?? selected;
  return {
    ...(devices.length
      ? {
          Devices: devices.map((d) => ({
            PathOnHost: d.host,
            PathInContainer: d.container,
            CgroupPermissions: d.permissions,
          })),
        }
      : {}),
    ...(access.deviceCgroupRules.length ? { DeviceCgroupRules: [...access.deviceCgroupRules] } : {}),
    ...(gpu
      ? {
          DeviceRequests: [
            {
              Driver: 'nvidia',
              Capabilities: [['gpu']],
              ...(ids ? { DeviceIDs: [...ids] } : { Count: gpu.count === 'all' ? -1 : gpu.count }),
            },
          ],
        }
      : {}),
  };
}

/** The daemon's words when a container cannot get its devices. */
const NO_GPU_DRIVER = /could not select device driver "[^"]*" with capabilities: \[\[gpu\]\]/;
const NO_DEVICE = /error gathering device information while adding custom device "([^"]+)"/;

/** A failed start, with what to do about it when the devices were the reason. */
export function startFailure(
  short: string,
  spec: { image: string; access?: Requirements },
  err: unknown,
): InfrastructureError {
  const said = dockerMessage(err);
  if (NO_GPU_DRIVER.test(said))
    return new InfrastructureError(
      `container ${short} (${spec.image}) asks for NVIDIA GPUs but this machine's Docker engine has no NVIDIA runtime (install nvidia-container-toolkit and restart dockerd, or place the benchmark on a GPU machine); the daemon said: ${said}`,
      { image: spec.image, reason: 'no-nvidia-runtime' },
      { cause: err },
    );
  const device = NO_DEVICE.exec(said)?.[1];
  if (device)
    return new InfrastructureError(
      `container ${short} (${spec.image}) asks for device ${device}, which this machine does not have; the daemon said: ${said}`,
      { image: spec.image, device, reason: 'no-device' },
      { cause: err },
    );
  return dockerFailure(`starting container ${short} (${spec.image})`, err, { image: spec.image });
}

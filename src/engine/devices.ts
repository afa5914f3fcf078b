/**
 * What a container gets from its machine's hardware, as Docker's HostConfig says it:
 * NVIDIA GPUs as `DeviceRequests` (driver nvidia, capability gpu, a count or device ids),
 * device nodes as `Devices` (explicit container path and cgroup permissions), patterns as
 * `DeviceCgroupRules`. And the daemon's answers when that fails at start, made clear.
 */
import type Docker from 'dockerode';
import { InfrastructureError, type Requirements } from '../core/index.js';
import { dockerFailure, dockerMessage } from './docker-errors.js';

export function deviceAccess(access: Requirements | undefined): Partial<Docker.HostConfig> {
  if (!access) return {};
  const devices = [...access.devices, ...(access.fpga?.devices ?? [])];
  const gpu = access.gpu;
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
              ...(gpu.ids ? { DeviceIDs: [...gpu.ids] } : { Count: gpu.count === 'all' ? -1 : gpu.count }),
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

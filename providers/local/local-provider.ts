/**
 * The machine benchyard runs on. Nothing to provision: `acquire` checks that the local
 * Docker engine answers and fingerprints the host; `release` only forgets it.
 */
import Docker from 'dockerode';
import { existsSync } from 'node:fs';
import { access, realpath, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import si from 'systeminformation';
import {
  gpusByModel,
  InfrastructureError,
  type HardwareFingerprint,
  type Machine,
  type Provider,
  type TargetFacts,
  type TargetSpec,
} from '../../src/core/index.js';
import type { GpuInventory } from '../../src/metrics/gpu/index.js';

export interface LocalProviderOptions {
  /** Docker socket; default from DOCKER_HOST (unix://) or /var/run/docker.sock. */
  socketPath?: string;
  /** This machine's NVIDIA GPUs (`nvidia-smi -q -x`); without it, GPUs are not known. */
  gpuInventory?: () => Promise<GpuInventory | undefined>;
}

export class LocalProvider implements Provider {
  readonly name = 'local';
  readonly capabilities = { elastic: false, spot: false, selfTerminate: false };
  private fingerprint: Promise<HardwareFingerprint> | undefined;
  private ioDevices: Promise<string[]> | undefined;

  constructor(private readonly options: LocalProviderOptions = {}) {}

  async acquire(target: TargetSpec, signal: AbortSignal): Promise<Machine> {
    signal.throwIfAborted();
    const socketPath = socketFor(target, this.options);
    const docker = new Docker({ socketPath });
    try {
      await docker.ping();
    } catch (err) {
      signal.throwIfAborted();
      throw new InfrastructureError(
        `Docker engine at ${socketPath} does not answer (${(err as Error).message}); start it, e.g. 'scripts/services up docker'`,
        { socketPath, target: target.name },
        { cause: err },
      );
    }
    this.fingerprint ??= fingerprint();
    this.ioDevices ??= ioAccountingDevices(docker);
    return {
      id: `local:${os.hostname()}`,
      provider: this.name,
      instanceType: 'local',
      hostname: os.hostname(),
      docker,
      localCgroups: true,
      hardware: await this.fingerprint,
      ioAccountingDevices: await this.ioDevices,
    };
  }

  /** This machine, looked at: its NVIDIA GPUs (none without nvidia-smi), runtime and device nodes. */
  async describe(target: TargetSpec, signal: AbortSignal): Promise<TargetFacts> {
    signal.throwIfAborted();
    const docker = new Docker({ socketPath: socketFor(target, this.options) });
    const [gpus, runtimes] = await Promise.all([
      this.options.gpuInventory?.(),
      docker.info().then(
        (info: { Runtimes?: Record<string, unknown> }) => Object.keys(info.Runtimes ?? {}),
        () => undefined,
      ),
    ]);
    return {
      // No nvidia-smi (or no driver) here: no GPUs.
      ...(this.options.gpuInventory ? { gpus: gpus ? gpusByModel(gpus) : [] } : {}),
      ...(runtimes ? { nvidiaRuntime: runtimes.includes('nvidia') } : {}),
      hasDevice: (p) => existsSync(p),
    };
  }

  async release(_machine: Machine, _signal: AbortSignal): Promise<void> {
    // Nothing was provisioned; the shared socket agent needs no teardown.
  }
}

function socketFor(target: TargetSpec, options: LocalProviderOptions): string {
  const fromTarget = (target.options.docker as { socketPath?: string } | undefined)?.socketPath;
  const fromEnv = process.env.DOCKER_HOST?.startsWith('unix://')
    ? process.env.DOCKER_HOST.slice(7)
    : undefined;
  return fromTarget ?? options.socketPath ?? fromEnv ?? '/var/run/docker.sock';
}

async function fingerprint(): Promise<HardwareFingerprint> {
  const [cpu, mem] = await Promise.all([si.cpu(), si.mem()]);
  return {
    cpuModel: `${cpu.manufacturer} ${cpu.brand}`.trim(),
    cpuCores: cpu.cores,
    memoryBytes: mem.total,
    kernel: os.release(),
  };
}

/**
 * On cgroup v1, the whole disk holding Docker's data root (where containers write), so
 * their block I/O is accounted; nothing on cgroup v2, which accounts all devices.
 */
async function ioAccountingDevices(docker: Docker): Promise<string[]> {
  try {
    const info = (await docker.info()) as { CgroupVersion?: string; DockerRootDir?: string };
    if (info.CgroupVersion !== '1' || !info.DockerRootDir) return [];
    const dev = (await stat(info.DockerRootDir)).dev;
    const major = ((dev >> 8) & 0xfff) | (Math.floor(dev / 2 ** 32) & ~0xfff);
    const minor = (dev & 0xff) | ((dev >> 12) & ~0xff);
    let sysDir = await realpath(`/sys/dev/block/${major}:${minor}`);
    const isPartition = await access(path.join(sysDir, 'partition')).then(
      () => true,
      () => false,
    );
    if (isPartition) sysDir = path.dirname(sysDir);
    const device = `/dev/${path.basename(sysDir)}`;
    await access(device);
    return [device];
  } catch {
    return []; // overlay on a virtual filesystem, or no /sys: I/O is then not attributed per container
  }
}

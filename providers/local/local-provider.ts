/**
 * The machine benchyard runs on. Nothing to provision: `acquire` checks that the local
 * Docker engine answers, takes the machine's lease on that engine (so two controllers on
 * this machine, whatever their state folders, never run benchmarks at the same time; it
 * waits while another holds it) and fingerprints the host; `release` removes what this
 * session left for this machine and returns the lease.
 */
import { DockerEngine } from '../../src/engine/docker-engine.js';
import Docker from 'dockerode';
import { existsSync } from 'node:fs';
import { access, realpath, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import si from 'systeminformation';
import {
  InfrastructureError,
  LABELS,
  silentLogger,
  systemClock,
  waitForMachine,
  type AcquireOptions,
  type Clock,
  type Logger,
  type MachineCount,
  type MachineLease,
  type MachineLeases,
  type AcceleratorInfo,
  type HardwareFacts,
  type Machine,
  type Provider,
  type TargetFacts,
  type TargetSpec,
} from '../../src/core/index.js';

export interface LocalProviderOptions {
  /** Docker socket; default from DOCKER_HOST (unix://) or /var/run/docker.sock. */
  socketPath?: string;
  /**
   * This machine's GPUs (the CLI asks nvidia-smi: `gpuFacts(await inventory())`): `[]` none,
   * `undefined` unknown. Without it, GPUs are not known.
   */
  gpus?: () => Promise<readonly AcceleratorInfo[] | undefined>;
  /** Leases held on the engine; without them the machine is used unleased (tests of other parts). */
  leases?: MachineLeases;
  /** How often a machine held by another controller is looked at again. @default 2000 */
  leasePollMs?: number;
  /** The session whose containers `release` removes. */
  session?: string;
  clock?: Clock;
  logger?: Logger;
  /** Where `waiting for …` lines go. @default logger.info */
  progress?: (line: string) => void;
}

type DockerInfo = { Runtimes?: Record<string, unknown> };

export class LocalProvider implements Provider {
  readonly name = 'local';
  readonly capabilities = { elastic: false, spot: false, selfTerminate: false };
  private hardware: Promise<HardwareFacts> | undefined;
  private ioDevices: Promise<string[]> | undefined;
  private readonly leases = new Map<string, MachineLease>();
  /** Machine ids handed out (or being acquired) now. */
  private readonly ids = new Set<string>();

  constructor(private readonly options: LocalProviderOptions = {}) {}

  capacity(): MachineCount {
    return { min: 1, max: 1 };
  }

  async acquire(target: TargetSpec, signal: AbortSignal, opts: AcquireOptions = {}): Promise<Machine> {
    signal.throwIfAborted();
    // A second local target of the run (sharing the engine) gets its own id: cleanup is per machine.
    const base = `local:${os.hostname()}`;
    const id = this.ids.has(base) ? `${base}/${target.name}` : base;
    this.ids.add(id);
    try {
      return await this.acquireAs(id, target, signal, opts);
    } catch (err) {
      this.ids.delete(id);
      throw err;
    }
  }

  private async acquireAs(id: string, target: TargetSpec, signal: AbortSignal, opts: AcquireOptions) {
    const clock = this.options.clock ?? systemClock;
    const requested = clock.now();
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
    const provision = { requested, docker: clock.now() };
    const lease = await this.lease(docker, id, target, signal, opts);
    this.hardware ??= hardwareFacts();
    this.ioDevices ??= ioAccountingDevices(docker);
    try {
      return {
        id,
        provider: this.name,
        instanceType: 'local',
        hostname: os.hostname(),
        engine: new DockerEngine(docker, id),
        localCgroups: true,
        hardware: await this.hardware,
        ioAccountingDevices: await this.ioDevices,
        provision,
        ...(lease ? { engineId: lease.engineId, revoked: lease.lost } : {}),
      };
    } catch (err) {
      this.leases.delete(id);
      await lease?.release();
      throw err;
    }
  }

  /** Takes this machine's lease on its engine, waiting while another controller holds it. */
  private async lease(
    docker: Docker,
    id: string,
    target: TargetSpec,
    signal: AbortSignal,
    opts: AcquireOptions,
  ): Promise<MachineLease | undefined> {
    const leases = this.options.leases;
    if (!leases) return undefined;
    const lease = await waitForMachine(
      () =>
        leases.take(docker, {
          machine: id,
          target: target.name,
          shareEngine: target.shareEngine ?? false,
          signal,
        }),
      {
        wait: opts.wait ?? true,
        pollMs: this.options.leasePollMs ?? 2_000,
        clock: this.options.clock ?? systemClock,
        logger: this.options.logger ?? silentLogger,
        signal,
        ...(this.options.progress ? { progress: this.options.progress } : {}),
      },
    );
    this.leases.set(id, lease);
    return lease;
  }

  /**
   * This machine, looked at: its NVIDIA GPUs (none without nvidia-smi; unknown when its
   * output could not be read), runtime and device nodes.
   */
  async describe(target: TargetSpec, signal: AbortSignal): Promise<TargetFacts> {
    signal.throwIfAborted();
    const docker = new Docker({ socketPath: socketFor(target, this.options) });
    const [gpus, runtimes] = await Promise.all([
      this.options.gpus?.(),
      // dockerode's info() takes { abortSignal } (lib/docker.js) though its types omit it:
      // an engine that never answers must not hold `plan` past a cancel.
      (docker as unknown as { info(o: { abortSignal: AbortSignal }): Promise<DockerInfo> })
        .info({ abortSignal: signal })
        .then(
          (info) => Object.keys(info.Runtimes ?? {}),
          () => undefined,
        ),
    ]);
    return {
      // No nvidia-smi (or no driver) here: no GPUs. Unreadable output: unknown, the engine decides.
      ...(gpus ? { gpus } : {}),
      ...(runtimes ? { nvidiaRuntime: runtimes.includes('nvidia') } : {}),
      hasDevice: (p) => existsSync(p),
    };
  }

  async release(machine: Machine, _signal: AbortSignal): Promise<void> {
    const lease = this.leases.get(machine.id);
    this.ids.delete(machine.id);
    if (!lease) return;
    this.leases.delete(machine.id);
    try {
      // What this session left for this machine (never another target's containers on the engine).
      if (this.options.session)
        await machine.engine.removeLabelled([
          `${LABELS.session}=${this.options.session}`,
          `${LABELS.machine}=${machine.id}`,
        ]);
    } finally {
      await lease.release();
    }
  }
}

function socketFor(target: TargetSpec, options: LocalProviderOptions): string {
  const fromTarget = (target.options.docker as { socketPath?: string } | undefined)?.socketPath;
  const fromEnv = process.env.DOCKER_HOST?.startsWith('unix://')
    ? process.env.DOCKER_HOST.slice(7)
    : undefined;
  return fromTarget ?? options.socketPath ?? fromEnv ?? '/var/run/docker.sock';
}

async function hardwareFacts(): Promise<HardwareFacts> {
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

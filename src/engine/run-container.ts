/**
 * One container on one machine: create → attach → start → wait (with timeout) → remove.
 * Whatever happens after create, the container is removed before `run` returns.
 */
import type Docker from 'dockerode';
import { once } from 'node:events';
import {
  DEFAULT_CONTAINER_POLICY,
  InfrastructureError,
  systemClock,
  type Clock,
  type ContainerPolicy,
  type Logger,
  type Requirements,
  type StoredArtifact,
} from '../core/index.js';
import { collectArtifacts, type ArtifactLimits, type SaveArtifact } from './collect-artifacts.js';
import { deviceAccess, startFailure, type MachineGpu } from './devices.js';
import { dockerFailure, dockerMessage, isUnreachable, statusOf } from './docker-errors.js';
import { copyFileOut, type CopiedFile } from './copy-out.js';
import { OutputBuffer } from './output-buffer.js';

export interface ContainerSpec {
  name: string;
  image: string;
  argv: readonly string[];
  env?: Readonly<Record<string, string>>;
  labels: Readonly<Record<string, string>>;
  network: 'none' | 'bridge';
  timeoutMs: number;
  /**
   * Most output kept per stream; past it the oldest bytes are dropped.
   * @default 32 MiB
   */
  maxOutputBytes?: number;
  /** Host folders mounted read-only: host path → container path. */
  readOnlyMounts?: Readonly<Record<string, string>>;
  /**
   * Devices the container gets: NVIDIA GPUs (`DeviceRequests`), device nodes (`Devices`),
   * cgroup rules, privileged. A container whose start fails on them is removed like any other.
   */
  access?: Requirements;
  /**
   * The machine's GPUs as its fingerprint knows them: a GPU requirement with `model` or
   * `pci` then gets exactly the GPUs that fit (by uuid); unknown: the engine picks by count.
   */
  gpus?: readonly MachineGpu[];
  /** Block devices to account I/O on under cgroup v1 (see `Machine.ioAccountingDevices`). */
  ioAccountingDevices?: readonly string[];
  /** Absolute paths of files to read into memory after it exits (the files scores are read from). */
  collect?: readonly string[];
  /**
   * Most bytes kept per collected file.
   * @default 64 MiB
   */
  maxFileBytes?: number;
  /** Absolute paths of files streamed to `RunOptions.saveArtifact` after it exits, one at a time. */
  artifacts?: readonly string[];
  /** Caps on what is kept of `artifacts`; see `ARTIFACT_LIMITS` for the defaults. */
  artifactLimits?: ArtifactLimits;
  /**
   * A pids limit and no-new-privileges.
   * @default DEFAULT_CONTAINER_POLICY (4096 pids, no new privileges)
   */
  policy?: ContainerPolicy;
}

export interface StartedContainer {
  id: string;
  /** Host pid of the container's init process (0 if it already exited). */
  pid: number;
}

export interface ContainerOutcome {
  containerId: string;
  /** Exit code, absent when the container was killed by benchyard. */
  exitCode?: number;
  /** The kernel's OOM killer killed a process of the container (its memory limit was hit). */
  oomKilled: boolean;
  timedOut: boolean;
  cancelled: boolean;
  stdout: string;
  stderr: string;
  outputTruncated: boolean;
  /** Collected files by container path; a path the container did not write is absent. */
  files: Map<string, CopiedFile>;
  /** The artifacts kept, in declaration order. */
  artifacts: StoredArtifact[];
  /** What was not kept of the declared artifacts and why (missing, a link, a folder, past a cap). */
  artifactNotes: string[];
  /** Epoch ms, as the engine recorded them. */
  startedAt: number;
  finishedAt: number;
}

export interface RunOptions {
  signal: AbortSignal;
  /** Called once the container runs, e.g. to start sampling its cgroup. */
  onStarted?: (container: StartedContainer) => void;
  /** Each complete line the container writes to stdout, as it arrives. */
  onStdoutLine?: (line: string) => void;
  /** Where `spec.artifacts` go; without it, none is copied. */
  saveArtifact?: SaveArtifact;
}

/** How long to wait for the attach stream to drain after the container exited. */
const DRAIN_MS = 5000;

export class ContainerRunner {
  constructor(
    private readonly docker: Docker,
    private readonly logger: Logger,
    private readonly clock: Clock = systemClock,
  ) {}

  async run(spec: ContainerSpec, opts: RunOptions): Promise<ContainerOutcome> {
    const container = await this.create(spec);
    const short = container.id.slice(0, 12);
    try {
      return await this.attachStartWait(container, spec, opts);
    } finally {
      await this.remove(container, short);
    }
  }

  private async create(spec: ContainerSpec): Promise<Docker.Container> {
    try {
      const container = await this.docker.createContainer({
        name: spec.name,
        Image: spec.image,
        Cmd: [...spec.argv],
        Env: Object.entries(spec.env ?? {}).map(([k, v]) => `${k}=${v}`),
        Labels: { ...spec.labels },
        AttachStdout: true,
        AttachStderr: true,
        Tty: false,
        HostConfig: {
          Privileged: spec.access?.privileged ?? false,
          ...confinement(spec.policy ?? DEFAULT_CONTAINER_POLICY),
          NetworkMode: spec.network,
          AutoRemove: false,
          Binds: Object.entries(spec.readOnlyMounts ?? {}).map(([host, inside]) => `${host}:${inside}:ro`),
          ...ioAccounting(spec.ioAccountingDevices ?? []),
          ...deviceAccess(spec.access, spec.gpus),
        },
      });
      this.logger.debug(`created container ${container.id.slice(0, 12)}`, {
        name: spec.name,
        image: spec.image,
      });
      return container;
    } catch (err) {
      if (isUnreachable(err)) throw dockerFailure('Docker engine unreachable', err);
      throw dockerFailure(`creating container '${spec.name}' from '${spec.image}'`, err, {
        image: spec.image,
      });
    }
  }

  private async attachStartWait(
    container: Docker.Container,
    spec: ContainerSpec,
    opts: RunOptions,
  ): Promise<ContainerOutcome> {
    const max = spec.maxOutputBytes ?? 32 * 1024 * 1024;
    // Lines printed before `onStarted` ran wait for it, so a watcher set up there sees them all.
    const early: string[] = [];
    let started = false;
    const onLine = opts.onStdoutLine;
    const stdout = new OutputBuffer(max, onLine && ((line) => (started ? onLine(line) : early.push(line))));
    const stderr = new OutputBuffer(max);
    const stream = (await container.attach({
      stream: true,
      stdout: true,
      stderr: true,
    })) as NodeJS.ReadableStream;
    const drained = once(stream, 'end').catch(() => undefined);
    this.docker.modem.demuxStream(stream, stdout, stderr);

    const t0 = this.clock.now();
    try {
      await container.start();
    } catch (err) {
      (stream as unknown as { destroy?: () => void }).destroy?.();
      throw startFailure(container.id.slice(0, 12), spec, err);
    }
    const info = await container.inspect().catch(() => undefined);
    opts.onStarted?.({ id: container.id, pid: info?.State?.Pid ?? 0 });
    started = true;
    for (const line of early.splice(0)) onLine?.(line);

    const { timedOut, cancelled } = await this.waitOrStop(container, spec.timeoutMs, opts.signal);
    const drainTimer = new AbortController();
    await Promise.race([drained, this.clock.sleep(DRAIN_MS, drainTimer.signal).catch(() => undefined)]);
    drainTimer.abort(); // a pending timer would hold the process open after the last container
    const state = (await container.inspect().catch(() => undefined))?.State;
    const files = new Map<string, CopiedFile>();
    for (const path of new Set(spec.collect ?? [])) {
      const file = await copyFileOut(container, path, spec.maxFileBytes ?? 64 * 1024 * 1024).catch(
        (err: unknown) => {
          throw dockerFailure(`copying ${path} out of container ${container.id.slice(0, 12)}`, err);
        },
      );
      if (file) files.set(path, file);
    }
    const kept =
      opts.saveArtifact && spec.artifacts?.length
        ? await collectArtifacts(container, spec.artifacts, opts.saveArtifact, spec.artifactLimits)
        : { artifacts: [], notes: [] };
    const startedAt = Date.parse(state?.StartedAt ?? '') || t0;
    const finishedAt = Date.parse(state?.FinishedAt ?? '') || this.clock.now();
    return {
      containerId: container.id,
      exitCode: timedOut || cancelled ? undefined : state?.ExitCode,
      oomKilled: state?.OOMKilled ?? false,
      timedOut,
      cancelled,
      stdout: stdout.text(),
      stderr: stderr.text(),
      outputTruncated: stdout.truncated || stderr.truncated,
      files,
      artifacts: kept.artifacts,
      artifactNotes: kept.notes,
      startedAt,
      finishedAt: Math.max(finishedAt, startedAt),
    };
  }

  /** Waits for exit; kills the container on timeout or abort. */
  private async waitOrStop(
    container: Docker.Container,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<{ timedOut: boolean; cancelled: boolean }> {
    const exited = container.wait().then(
      () => 'exited' as const,
      (err: unknown) => {
        throw dockerFailure(`waiting for container ${container.id.slice(0, 12)}`, err);
      },
    );
    const stop = new AbortController();
    const timer = this.clock.sleep(timeoutMs, stop.signal).then(
      () => 'timeout' as const,
      () => 'never' as const,
    );
    const aborted = new Promise<'cancelled'>((resolve) => {
      if (signal.aborted) return resolve('cancelled');
      signal.addEventListener('abort', () => resolve('cancelled'), { once: true, signal: stop.signal });
    });
    try {
      const first = await Promise.race([exited, timer, aborted]);
      if (first === 'exited' || first === 'never') return { timedOut: false, cancelled: false };
      this.logger.info(`stopping container ${container.id.slice(0, 12)}: ${first}`);
      await container.kill().catch((err: unknown) => {
        // 409: it exited meanwhile; 404: it is gone. Both are fine.
        if (statusOf(err) !== 409 && statusOf(err) !== 404) throw dockerFailure('killing container', err);
      });
      await exited.catch(() => undefined);
      return { timedOut: first === 'timeout', cancelled: first === 'cancelled' };
    } finally {
      stop.abort();
    }
  }

  private async remove(container: Docker.Container, short: string): Promise<void> {
    try {
      await container.remove({ force: true, v: true });
      this.logger.debug(`removed container ${short}`);
    } catch (err) {
      const status = statusOf(err);
      if (status === 404 || (status === 409 && /in progress/.test(dockerMessage(err)))) return;
      // Log and keep going: the run's own error (if any) matters more, and `gc` sweeps by label.
      this.logger.error(`could not remove container ${short}: ${dockerMessage(err)}`, { container: short });
    }
  }
}

/** Fails fast with an actionable message when the engine does not answer. */
export async function pingDocker(docker: Docker, where: string): Promise<void> {
  try {
    await docker.ping();
  } catch (err) {
    throw new InfrastructureError(
      `Docker engine on '${where}' does not answer: ${dockerMessage(err)}; start it (e.g. 'scripts/services up docker')`,
      { machine: where },
      { cause: err },
    );
  }
}

/**
 * The container's confinement as HostConfig says it. The pids limit needs the pids cgroup
 * controller; an engine without it drops the limit with a warning rather than failing.
 */
function confinement(policy: ContainerPolicy): Partial<Docker.HostConfig> {
  return {
    // -1: unlimited, also where the daemon sets a default limit of its own.
    PidsLimit: policy.pidsLimit === 'unlimited' ? -1 : policy.pidsLimit,
    ...(policy.noNewPrivileges ? { SecurityOpt: ['no-new-privileges'] } : {}),
  };
}

/** A throttle rule no device reaches, so cgroup v1 accounts the container's block I/O. */
const NO_LIMIT_BPS = 1e15;

function ioAccounting(devices: readonly string[]) {
  if (devices.length === 0) return {};
  const rules = devices.map((Path) => ({ Path, Rate: NO_LIMIT_BPS }));
  return { BlkioDeviceReadBps: rules, BlkioDeviceWriteBps: rules };
}

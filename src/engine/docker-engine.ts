/**
 * The Docker engine as an `Engine` (src/core/engine.ts): dockerode over this machine's
 * socket or over benchyard's SSH connection. Translation only: the container's lifecycle
 * (timeouts, cancel, caps, copying out, removal) is `run-container.ts`, over the port.
 */
import type Docker from 'dockerode';
import { Writable } from 'node:stream';
import { once } from 'node:events';
import {
  DEFAULT_CONTAINER_POLICY,
  InfrastructureError,
  removeLabelled,
  type ContainerPolicy,
  type ContainerSpec,
  type ContainerState,
  type Engine,
  type EngineContainer,
  type EngineIdentity,
  type ImageInfo,
  type OutputSinks,
  type Started,
} from '../core/index.js';
import { deviceAccess, startFailure } from './devices.js';
import { dockerFailure, dockerMessage, isUnreachable, statusOf } from './docker-errors.js';

export class DockerEngine implements Engine {
  readonly kind = 'docker';

  /** `where`: the machine's name, in error messages. */
  constructor(
    readonly docker: Docker,
    private readonly where = 'this machine',
  ) {}

  async ping(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        this.docker.ping().then(
          () => true,
          () => false,
        ),
        new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs))),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  async identity(): Promise<EngineIdentity> {
    try {
      const info = (await this.docker.info()) as {
        ID?: string;
        Name?: string;
        ServerVersion?: string;
      };
      return {
        id: info.ID ?? '',
        ...(info.Name ? { name: info.Name } : {}),
        ...(info.ServerVersion ? { version: info.ServerVersion } : {}),
      };
    } catch (err) {
      throw dockerFailure(`asking the Docker engine of '${this.where}' who it is`, err);
    }
  }

  async create(spec: ContainerSpec): Promise<EngineContainer> {
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
          ...(spec.cpuset ? { CpusetCpus: spec.cpuset } : {}),
          // No swap beyond the limit: an allocation's memory is all the container gets.
          ...(spec.memoryBytes ? { Memory: spec.memoryBytes, MemorySwap: spec.memoryBytes } : {}),
        },
      });
      return new DockerContainer(this.docker, container, spec);
    } catch (err) {
      if (isUnreachable(err)) throw dockerFailure(`Docker engine of '${this.where}' unreachable`, err);
      throw dockerFailure(`creating container '${spec.name}' from '${spec.image}'`, err, {
        image: spec.image,
      });
    }
  }

  async image(ref: string): Promise<ImageInfo | undefined> {
    try {
      const info = await this.docker.getImage(ref).inspect();
      const repoDigest = info.RepoDigests?.find((d) => d.includes('@'))?.split('@')[1];
      return { ref, digest: repoDigest ?? info.Id, id: info.Id, sizeBytes: info.Size };
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw dockerFailure(`inspecting image '${ref}' on '${this.where}'`, err, { image: ref });
    }
  }

  removeLabelled(labels: readonly string[]): Promise<number> {
    return removeLabelled(this.docker, labels);
  }
}

/** The dockerode client of a Docker engine; undefined for engines of other kinds. */
export function dockerOf(engine: Engine): Docker | undefined {
  return engine instanceof DockerEngine ? engine.docker : undefined;
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

class DockerContainer implements EngineContainer {
  readonly id: string;
  private readonly short: string;

  constructor(
    private readonly docker: Docker,
    private readonly container: Docker.Container,
    private readonly spec: ContainerSpec,
  ) {
    this.id = container.id;
    this.short = container.id.slice(0, 12);
  }

  async start(output: OutputSinks): Promise<Started> {
    // Attached before the start: nothing the container prints is missed.
    const stream = (await this.container.attach({
      stream: true,
      stdout: true,
      stderr: true,
    })) as NodeJS.ReadableStream;
    const drained = once(stream, 'end').then(
      () => undefined,
      () => undefined,
    );
    this.docker.modem.demuxStream(stream, sink(output.stdout), sink(output.stderr));
    try {
      await this.container.start();
    } catch (err) {
      (stream as unknown as { destroy?: () => void }).destroy?.();
      throw startFailure(this.short, this.spec, err);
    }
    const info = await this.container.inspect().catch(() => undefined);
    return { pid: info?.State?.Pid ?? 0, drained };
  }

  async wait(): Promise<void> {
    try {
      await this.container.wait();
    } catch (err) {
      throw dockerFailure(`waiting for container ${this.short}`, err);
    }
  }

  async kill(): Promise<void> {
    try {
      await this.container.kill();
    } catch (err) {
      // 409: it exited meanwhile; 404: it is gone. Both are fine.
      if (statusOf(err) !== 409 && statusOf(err) !== 404) throw dockerFailure('killing container', err);
    }
  }

  async state(): Promise<ContainerState> {
    const state = (await this.container.inspect().catch(() => undefined))?.State;
    const startedAt = Date.parse(state?.StartedAt ?? '');
    const finishedAt = Date.parse(state?.FinishedAt ?? '');
    return {
      ...(state?.ExitCode !== undefined ? { exitCode: state.ExitCode } : {}),
      oomKilled: state?.OOMKilled ?? false,
      // Docker says 0001-01-01 for "never": negative epoch ms, treated as unknown.
      ...(startedAt > 0 ? { startedAt } : {}),
      ...(finishedAt > 0 ? { finishedAt } : {}),
    };
  }

  async archive(path: string): Promise<NodeJS.ReadableStream | undefined> {
    try {
      return (await this.container.getArchive({ path })) as NodeJS.ReadableStream;
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw dockerFailure(`copying ${path} out of container ${this.short}`, err);
    }
  }

  async remove(): Promise<void> {
    try {
      await this.container.remove({ force: true, v: true });
    } catch (err) {
      const status = statusOf(err);
      if (status === 404 || (status === 409 && /in progress/.test(dockerMessage(err)))) return;
      throw dockerFailure(`removing container ${this.short}`, err);
    }
  }
}

function sink(write: (chunk: Buffer) => void): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      write(chunk);
      done();
    },
  });
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

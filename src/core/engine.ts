/**
 * The engine port: what the scheduler needs from wherever a benchmark's containers run.
 *
 * One Docker engine (this machine's socket, or a remote one over benchyard's SSH
 * connection) is the adapter today (`src/engine/docker-engine.ts`); a Slurm job's node runs
 * its containers through that node's Docker engine, and a Kubernetes namespace would be
 * an adapter whose containers are pods. The port is therefore the life of ONE container,
 * in the steps every such runtime has (testcontainers-node splits its container runtime
 * client the same way; ReFrame keeps schedulers apart from launchers):
 *
 *   create(spec) → start(output) → wait() / kill() → state() → archive(path)… → remove()
 *
 * The lifecycle around it (timeouts, cancellation, output caps, copying score files and
 * artifacts, removal whatever happens) is written once, over this port, in
 * `src/engine/run-container.ts`; adapters only translate.
 *
 * Errors: adapters throw `InfrastructureError` (the engine failed or is unreachable) for
 * everything but the documented "not there" answers (`archive` → undefined, `image` →
 * undefined, `kill`/`remove` of a container that is gone → resolved).
 */
import type { ContainerPolicy, Requirements } from './benchmark.js';

/** A GPU of the machine, as its fingerprint knows it (a `model`/`pci` requirement selects among them). */
export interface MachineGpu {
  uuid?: string;
  model: string;
  pciDeviceId?: string;
}

/** An image present on an engine. */
export interface ImageInfo {
  ref: string;
  /** Registry digest when the image came from a registry, else the local image id; both are content addresses. */
  digest: string;
  id: string;
  sizeBytes: number;
  /** Its config's ENTRYPOINT and CMD, where the engine that has it said. */
  command?: { entrypoint: readonly string[]; cmd: readonly string[] };
}

/** Everything a container is created with: what runs, what it may touch, how it is found again. */
export interface ContainerSpec {
  name: string;
  /** Image id or digest (what runs is what was recorded), or a reference. */
  image: string;
  argv: readonly string[];
  env?: Readonly<Record<string, string>>;
  /** Owner labels (`ownerLabels`) and the run's: a sweeper finds leftovers by them. */
  labels: Readonly<Record<string, string>>;
  network: 'none' | 'bridge';
  /** Host folders mounted read-only: host path → container path. */
  readOnlyMounts?: Readonly<Record<string, string>>;
  /** Devices the container gets (GPUs, device nodes, cgroup rules, privileged). */
  access?: Requirements;
  /** The machine's GPUs as its fingerprint knows them: a `model`/`pci` requirement gets exactly the fitting ones. */
  gpus?: readonly MachineGpu[];
  /** Block devices to account I/O on under cgroup v1 (see `Machine.ioAccountingDevices`). */
  ioAccountingDevices?: readonly string[];
  /** The only CPUs it may run on (`0-3,8`): what a scheduler allocated to the machine. */
  cpuset?: string;
  /** Its memory limit in bytes: what a scheduler allocated to the machine. */
  memoryBytes?: number;
  /**
   * A pids limit and no-new-privileges.
   * @default DEFAULT_CONTAINER_POLICY
   */
  policy?: ContainerPolicy;
  /**
   * The image's own ENTRYPOINT and CMD (Docker's image config), where known: an engine that
   * must write a container's whole command line (a pod whose command runs under a wrapper)
   * puts them where Docker would.
   */
  imageCommand?: { entrypoint: readonly string[]; cmd: readonly string[] };
  /**
   * Absolute paths the caller will `archive` once the container exited (score files,
   * artifacts). Docker keeps a stopped container's files anyway; an engine whose containers'
   * files vanish when they exit (a pod) keeps these.
   */
  afterExit?: readonly string[];
}

/** Where a started container's output goes, chunk by chunk as it arrives. */
export interface OutputSinks {
  stdout(chunk: Buffer): void;
  stderr(chunk: Buffer): void;
}

/** A started container. */
export interface Started {
  /** Host pid of its init process, where the engine says (0: unknown or exited already). */
  pid: number;
  /** Resolves once its output streams have ended (all output handed to the sinks). */
  drained: Promise<void>;
}

/** How a container ended, as its engine recorded it. */
export interface ContainerState {
  exitCode?: number;
  /** The kernel's OOM killer killed a process of the container. */
  oomKilled: boolean;
  /** Epoch ms; absent where the engine does not say. */
  startedAt?: number;
  finishedAt?: number;
}

/** One container (created, not yet removed). */
export interface EngineContainer {
  readonly id: string;
  /** Attaches the sinks, then starts it; output before the start is never lost. */
  start(output: OutputSinks): Promise<Started>;
  /** Resolves once it has exited. */
  wait(): Promise<void>;
  /** Stops it now. Resolves also when it exited or is gone already. */
  kill(): Promise<void>;
  state(): Promise<ContainerState>;
  /**
   * A tar stream of `path` in the (stopped) container: its first entry is the file (or the
   * directory, link… it is; links are not followed). `undefined`: no such path.
   */
  archive(path: string): Promise<NodeJS.ReadableStream | undefined>;
  /** Removes it and its anonymous volumes. Resolves also when it is gone already. */
  remove(): Promise<void>;
}

/** What answers for an engine: the same id is the same engine, whatever name reached it. */
export interface EngineIdentity {
  id: string;
  name?: string;
  version?: string;
}

/**
 * A line channel to benchyard's metrics agent, started by the engine on the machine beside
 * the benchmarks (host PID, the host's /proc and /sys read-only under /host): commands go to
 * its stdin, replies and batches come from its stdout (src/agent/protocol.ts).
 */
export interface AgentChannel {
  /** Writes to its stdin. */
  write(text: string): void;
  /** Its stdout and stderr, chunk by chunk, from the start. */
  onOutput(stdout: (chunk: Buffer) => void, stderr: (chunk: Buffer) => void): void;
  /** Resolves once it exited or the channel broke. */
  readonly closed: Promise<void>;
  /** Closes its stdin and removes it; resolves once it is gone. */
  close(): Promise<void>;
}

/**
 * One step in the life of a container as an engine other than Docker reports it (Docker's
 * come from its own `/events` stream): the event bus takes these as it takes Docker's.
 */
export interface EngineEvent {
  containerId: string;
  name: string;
  image?: string;
  action: 'create' | 'start' | 'oom' | 'die' | 'kill' | 'destroy';
  /** `die` only. */
  exitCode?: number;
  /** Epoch ms, as the engine saw it. */
  timestamp: number;
  /** The container's labels (`ownerLabels` and the run's), as it was created with them. */
  labels: Readonly<Record<string, string>>;
}

/** How the agent is started: its image (as this engine runs images), arguments and labels. */
export interface AgentLaunch {
  image: string;
  args: readonly string[];
  name: string;
  labels: Readonly<Record<string, string>>;
}

/** Where a machine's containers run. */
export interface Engine {
  /** The adapter's kind, e.g. `docker`. */
  readonly kind: string;
  /** Whether it answers, within `timeoutMs`. Never throws. */
  ping(timeoutMs: number): Promise<boolean>;
  identity(signal?: AbortSignal): Promise<EngineIdentity>;
  create(spec: ContainerSpec): Promise<EngineContainer>;
  /** The image where present (by id, digest or reference); `undefined`: not there. */
  image(ref: string): Promise<ImageInfo | undefined>;
  /**
   * Removes the containers benchyard manages that carry every one of `labels`
   * (`key=value`), checked on each container's own labels, never on the engine's filter
   * alone. Answers how many it removed.
   */
  removeLabelled(labels: readonly string[]): Promise<number>;
  /**
   * Engines whose images come from a registry by reference (a cluster's nodes pull them):
   * `prepareImages` pushes each image to the run's registry and asks `image()` for its
   * digest reference. Docker engines get images by id and leave this out.
   */
  readonly pullsFromRegistry?: boolean;
  /**
   * Starts the metrics agent where the engine's containers run, for engines other than
   * Docker's (whose agent container `src/agent` starts itself).
   */
  startAgent?(launch: AgentLaunch, signal: AbortSignal): Promise<AgentChannel>;
  /** Hands each event of the engine's containers to `publish` until closed (engines other than Docker's). */
  events?(publish: (event: EngineEvent) => void): { close(): void };
}

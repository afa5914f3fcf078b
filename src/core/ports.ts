/**
 * Ports: the interfaces the modules talk through. Adapters (providers, stores) implement
 * them; only `src/cli` picks the adapters.
 */
import type { Engine } from './engine.js';
import type { HardwareFacts, TargetFacts } from './hardware.js';
import type { ResourceRef } from './ledger.js';
import type { SshSession } from './ssh.js';
import type {
  MachineRecord,
  ProvisionStep,
  StoredCell,
  MatrixCell,
  MetricSample,
  RepetitionResult,
  RunRecord,
  StoredArtifact,
  TargetSpec,
} from './model.js';

/** A machine whose engine answers. Released machines must not be used again. */
export interface Machine {
  readonly id: string;
  readonly provider: string;
  readonly instanceType: string;
  readonly region?: string;
  readonly zone?: string;
  readonly hourlyPriceUsd?: number;
  /** Whether the price is the spot price. */
  readonly spot?: boolean;
  /** The machine's host name, recorded on metric samples. */
  readonly hostname: string;
  /** Where its containers run (a Docker engine, local or over SSH). */
  readonly engine: Engine;
  /** True when cgroup and /proc files of the machine's containers are readable by this process. */
  readonly localCgroups: boolean;
  /** What the provider knows of its hardware without the fingerprint probe. */
  readonly hardware?: HardwareFacts;
  /**
   * Where in a scheduler the machine is, recorded with its results (Slurm: cluster,
   * partition, node, job, the GRES and CPU ids it was given).
   */
  readonly placement?: Readonly<Record<string, string>>;
  /**
   * Block devices (e.g. `/dev/vda`) whose I/O containers' cgroups must account. cgroup v1
   * counts per-cgroup block I/O only for devices with a blk-throttle rule, so containers
   * get a rule far above any real rate (1 PB/s) on these; empty on cgroup v2.
   */
  readonly ioAccountingDevices?: readonly string[];
  /** The SSH connection the Docker engine is reached through (remote machines). */
  readonly ssh?: SshSession;
  /**
   * The Docker engine's identity (`docker info` ID), where the provider knows it: machines
   * with the same engine are one machine (leased once, `concurrency` cells at once in all).
   */
  readonly engineId?: string;
  /**
   * Aborted when the machine is no longer this controller's (its lease on the machine was
   * lost or taken over): what runs there must stop and take no more work.
   */
  readonly revoked?: AbortSignal;
  /**
   * When the provider reached each step of making the machine usable, in epoch ms of its
   * injected clock (`ctx.clock.now()`): `requested` (the create call sent, or the acquire
   * begun where nothing is created), `created` (the provider answered with an id), `running`
   * (it says the machine runs), `ssh` (the SSH handshake succeeded), `docker` (the engine
   * answered). Steps a provider does not go through are left out; the fleet adds `images`,
   * `agent` and `firstRepetition` and stores ms since `requested` (`MachineRecord.provision`).
   */
  readonly provision?: Readonly<Partial<Record<ProvisionStep, number>>>;
}

/** How `acquire` treats a machine that exists already and that another controller holds. */
export interface AcquireOptions {
  /**
   * true: wait (saying who holds it) until one of the target's machines is free; false:
   * throw `MachineBusyError` naming the holders at once.
   * @default true
   */
  wait?: boolean;
}

/** A target's number of machines: fixed (`min` = `max`) or elastic. */
export interface MachineCount {
  min: number;
  max: number;
}

/** The range a target's `count` option (a number, or `{ min, max }`) stands for. */
export function machineCountOf(count: number | MachineCount): MachineCount {
  return typeof count === 'number' ? { min: count, max: count } : { min: count.min, max: count.max };
}

export interface Provider {
  readonly name: string;
  readonly capabilities: { elastic: boolean; spot: boolean; selfTerminate: boolean };
  /**
   * How many machines of the target a run uses at once. A run starts with `min` (at least
   * one), adds machines up to `max` while cells wait in the target's queue, and releases
   * machines above `min` that stayed idle for the target's `idleRelease` (ssh: its hosts,
   * min = max; clouds: `count`, a number or `{ min, max }`).
   * @default { min: 1, max: 1 }
   */
  capacity?(target: TargetSpec): MachineCount;
  /**
   * What the target's machines have, without acquiring one (this machine: looked at; EC2:
   * the instance type's facts). Unknown parts are left out. Must not create anything.
   */
  describe?(target: TargetSpec, signal: AbortSignal): Promise<TargetFacts>;
  /** Provision or lease a machine for the target; resolves once its Docker engine answers. */
  acquire(target: TargetSpec, signal: AbortSignal, opts?: AcquireOptions): Promise<Machine>;
  /** Give the machine back (terminate, cancel or return the lease). Idempotent. */
  release(machine: Machine, signal: AbortSignal): Promise<void>;
  /**
   * Whether the machine left its pool while a run uses it: `'drain'` finish the current
   * cell and take no other, `'now'` stop its running repetitions (they run again on another
   * machine); `undefined` while it is still a member. Asked about once a second: keep it cheap.
   */
  withdrawn?(machine: Machine): 'drain' | 'now' | undefined;
  /**
   * Resources of this provider that benchyard created and that still exist, found by tag or
   * name (all sessions unless one is given), for `gc`. `hints` are open ledger entries: they
   * say which regions/endpoints to look in.
   */
  discover?(opts: {
    session?: string;
    hints: readonly ResourceRef[];
    signal: AbortSignal;
  }): Promise<ResourceRef[]>;
  /**
   * Deletes a discovered resource and resolves once the provider confirms it is gone. Before
   * any delete call it reads the object back from the provider and checks, itself, that it
   * carries benchyard's identity for `ref` (ledger key, session): otherwise it throws
   * `OwnershipError` and touches nothing. A filter the API ignored, extra objects in a
   * listing, or tags in another case never make it touch a foreign object.
   */
  destroy?(ref: ResourceRef, signal: AbortSignal): Promise<void>;
  /**
   * Whether the provider provably holds nothing of this ledger entry (no object carrying its
   * identity, judged on the provider's own answers, not on its filters): `gc --forget KEY`
   * closes such an entry. `false` when something of it exists or it cannot be told.
   */
  absent?(ref: ResourceRef, signal: AbortSignal): Promise<boolean>;
  /**
   * `doctor`'s checks of a target whose machines are not acquired to be checked (a cloud's,
   * a cluster's): what its API, scheduler and nodes say, creating nothing that costs money
   * (a cluster's registry probe is a tiny pod, recorded first and deleted before it answers).
   */
  preflight?(target: TargetSpec, signal: AbortSignal, opts?: PreflightOptions): Promise<PreflightCheck[]>;
}

/** What `doctor` hands `Provider.preflight` beside the target. */
export interface PreflightOptions {
  /**
   * An image in the run's registry, pushed there on the first call, answered by digest as
   * the target's machines pull it: a provider whose nodes pull images (a cluster) tries
   * pulling it there. Absent: the matrix names no registry.
   */
  registryImage?: () => Promise<string>;
}

/** One answer of `Provider.preflight`. */
export interface PreflightCheck {
  check: string;
  status: 'ok' | 'warn' | 'fail' | 'skip';
  detail: string;
}

/** Write side of result storage. */
export interface ResultStore {
  startRun(run: RunRecord, cells: readonly MatrixCell[]): Promise<void>;
  recordResult(result: RepetitionResult): Promise<void>;
  /**
   * Stores a machine of the run with its hardware fingerprint, once the run is started;
   * recording the same run and machine again replaces it. Stores without it keep none.
   */
  recordMachine?(machine: MachineRecord): Promise<void>;
  finishRun(run: RunRecord): Promise<void>;
  close(): Promise<void>;
}

export interface ResultQuery {
  runId?: string;
  /** Samples only: those stamped at or after this time (ms since the epoch). */
  since?: number;
}

/** Read side of result storage. */
export interface ResultReader {
  listRuns(limit?: number): Promise<RunRecord[]>;
  getRun(id: string): Promise<RunRecord | undefined>;
  listResults(query: ResultQuery): Promise<RepetitionResult[]>;
  listSamples(query: ResultQuery): Promise<MetricSample[]>;
  /** The run's machines with their hardware (for grouping by GPU model); none where not kept. */
  listMachines?(query: ResultQuery): Promise<MachineRecord[]>;
  /** The run's cells as stored when it started, in plan order; stores without them answer from results. */
  listCells?(runId: string): Promise<StoredCell[]>;
}

/**
 * Receives metric samples in batches. `flush` returns once everything written so far is
 * stored (or, for a remote store, stored or kept durably to be sent later).
 */
export interface MetricSink {
  write(samples: readonly MetricSample[]): void;
  flush(): Promise<void>;
  close(): Promise<void>;
  /** The sink's own state, recorded by the collectors' self-monitoring. */
  stats?(): MetricSinkStats | undefined;
}

export interface MetricSinkStats {
  /** Batches and bytes waiting in the on-disk spool. */
  spooledBatches: number;
  spooledBytes: number;
  /** Bytes held in memory (batches being built, queued or in flight). */
  memoryBytes: number;
  /** Documents given up on (rejected by the store, or refused by a full spool). */
  dropped: number;
  /** Requests retried, and the time spent backing off, since the sink opened. */
  retries: number;
  backoffMs: number;
}

/** Keeps files copied out of containers. */
/**
 * Keeps the files a container declared as artifacts. `data` is streamed as it is copied
 * out of the container (one artifact at a time), so an artifact costs a few chunks of
 * memory whatever its size. Two container paths never share a location, and a location
 * is never overwritten.
 */
export interface ArtifactStore {
  save(
    at: { runId: string; cellId: string; repetition: number },
    containerPath: string,
    data: AsyncIterable<Uint8Array>,
    info: { bytes: number; truncated: boolean },
  ): Promise<StoredArtifact>;
}

export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export interface Logger {
  debug(message: string, context?: Record<string, unknown>): void;
  info(message: string, context?: Record<string, unknown>): void;
  warn(message: string, context?: Record<string, unknown>): void;
  error(message: string, context?: Record<string, unknown>): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** The records that flow from the scheduler to the stores. */
import type { ContainerPolicy, Direction, ParamValue, Requirements, ScoreSpec } from './benchmark.js';

export interface TargetSpec {
  name: string;
  provider: string;
  /** Provider-specific settings, passed through unchanged. */
  options: Readonly<Record<string, unknown>>;
  /**
   * A machine above the target's minimum that had no cell to run for this long (while
   * others of the target still run theirs) is released. Every machine is released as soon
   * as its target has nothing left to run. @default 60000
   */
  idleReleaseMs?: number;
  /** The run's image registry as this target's machines reach it (HOST:PORT). */
  registry?: string;
  /**
   * Its machines may be the same Docker engine as another target's machines (the matrix's
   * `shareEngine`): they are then one machine for leasing and concurrency. Not part of a
   * cell's identity. @default false
   */
  shareEngine?: boolean;
  /**
   * USD per machine-hour recorded on the target's results (bare metal: an amortized
   * rate); where set it replaces the provider's price.
   */
  hourlyPriceUsd?: number;
  /**
   * The most GPUs one of the target's cells asks for (`requires: gpu`), set by placement:
   * a provider that asks a scheduler for each machine's resources (Slurm's `--gres`) asks
   * for that many where the target names none.
   */
  gpusPerMachine?: number;
}

/** One point of the matrix: a benchmark with concrete params on one target. */
export interface MatrixCell {
  /** Stable content hash: the same matrix yields the same ids. */
  id: string;
  /** Position in the plan (for display). */
  index: number;
  entry: string;
  benchmark: string;
  benchmarkVersion: number;
  target: TargetSpec;
  params: Readonly<Record<string, ParamValue>>;
  image: string;
  argv: readonly string[];
  /** Params as environment variables (`PARAM_<NAME>`), the only way they reach a shell script. */
  env: Readonly<Record<string, string>>;
  network: 'none' | 'bridge';
  /** Devices and accelerators the container gets (the benchmark's, or the matrix entry's). */
  requires: Requirements;
  /** Measured repetitions. */
  repetitions: number;
  /** Warmup repetitions, run before the measured ones and kept out of statistics. */
  warmup: number;
  /**
   * Control repetitions, run after the warmups with every metric collector of the machine
   * off, and kept out of statistics: how far the measured scores are from theirs is what
   * sampling costs the benchmark.
   */
  control: number;
  /** When set, measured repetitions are extended until the results are steady. */
  adaptive?: AdaptivePolicy;
  timeoutMs: number;
  scores: readonly ScoreSpec[];
  /** Files the container writes that are kept beside the results. */
  artifacts: readonly string[];
  /** How the container is confined (the benchmark's); absent: `DEFAULT_CONTAINER_POLICY`. */
  container?: ContainerPolicy;
  /** Folder on the controller mounted read-only at /in (local machines). */
  inputs?: string;
  /** Folder with a Dockerfile: the image is built from it on each machine before the run. */
  build?: string;
}

/** How a run samples its machines (the matrix's `metrics:` block, less the interval). */
export interface MetricsPolicy {
  /** Hold samples on the machine while a repetition runs. */
  quiet: boolean;
  /** `auto`: in the controller where it can read the machine's cgroups, else the agent. */
  collector: 'auto' | 'agent';
  host: boolean;
  gpu: boolean;
}

export const DEFAULT_METRICS_POLICY: MetricsPolicy = {
  quiet: false,
  collector: 'auto',
  host: true,
  gpu: true,
};

/** Extend a cell's measured repetitions while its first score varies more than `maxCovPct`. */
export interface AdaptivePolicy {
  maxCovPct: number;
  maxRepetitions: number;
  /** No extension once the cell has run this long. */
  budgetMs: number;
}

export type FailureClass =
  | 'QUOTA'
  | 'CAPACITY'
  | 'INTERRUPTED'
  | 'INFRA'
  | 'TIMEOUT'
  | 'BENCHMARK_FAILED'
  | 'PARSE_FAILED'
  | 'CANCELLED';

export interface Score {
  name: string;
  value: number;
  unit: string;
  direction: Direction;
}

export interface MetricsSummary {
  samples: number;
  /** `@benchyard` lines past the per-repetition cap: counted, not stored. */
  appLinesDropped?: number;
  cpuCoresMean?: number;
  cpuCoresMax?: number;
  memoryBytesMax?: number;
  /** Energy the machine drew while the repetition ran; absent where no source was readable. */
  energy?: EnergySummary;
  /** Why there is no energy, or none of a kind (`no RAPL domain readable: permission denied`). */
  energyMissing?: string;
}

/**
 * Energy a repetition's machine drew while the repetition ran, in joules: measured, never
 * estimated. Machine-wide: repetitions that run at once on one machine each see all of it.
 */
export interface EnergySummary {
  /** The sum of the sources. */
  joules: number;
  /** GPUs: power samples integrated over the repetition (or the driver's energy counter). */
  gpuJoules?: number;
  /** CPU packages (RAPL `package-N`, AMD's too). */
  cpuJoules?: number;
  /** Memory (RAPL `dram`). */
  dramJoules?: number;
  /** Joules by source, e.g. `gpu:GPU-1a2b…`, `rapl:package-0`, `rapl:dram-0`. */
  sources: Readonly<Record<string, number>>;
}

/** One repetition of one cell: everything needed to compare without joins. */
export interface RepetitionResult {
  runId: string;
  cellId: string;
  repetition: number;
  benchmark: string;
  benchmarkVersion: number;
  params: Readonly<Record<string, ParamValue>>;
  target: string;
  provider: string;
  machineId: string;
  instanceType: string;
  region?: string;
  /** Availability zone (EC2) or datacenter (SoftLayer) the machine ran in. */
  zone?: string;
  hourlyPriceUsd?: number;
  /**
   * The machine's fingerprint *hash* (`fingerprintHash`, 16 hex); absent where none was
   * collected. Named `fingerprint` where it is stored (SQLite column, result JSON,
   * Elasticsearch `host.fingerprint`): kept so stored results and dashboards still read.
   */
  fingerprint?: string;
  image: string;
  imageDigest: string;
  containerId?: string;
  status: 'passed' | 'failed';
  /** A warmup repetition: recorded, never counted in statistics. */
  warmup: boolean;
  /**
   * A control repetition: run with every metric collector off, to show what sampling
   * costs the benchmark. Recorded, never counted in statistics (compared on its own).
   */
  control?: boolean;
  failureClass?: FailureClass;
  failureReason?: string;
  exitCode?: number;
  scores: readonly Score[];
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  metrics: MetricsSummary;
  artifacts: readonly StoredArtifact[];
  /**
   * Why its hardware was not healthy while it ran (`GPU 0 power-capped 38 % of the time`,
   * `2 new XID 79 errors`): kept and shown, left out of statistics unless asked for.
   */
  suspect?: readonly string[];
}

/** A file copied out of a container and kept beside the results. */
export interface StoredArtifact {
  /** Path in the container. */
  path: string;
  /** Where it is kept (a file on the controller). */
  location: string;
  bytes: number;
  /** True when the file was larger than the cap and only its start was kept. */
  truncated: boolean;
}

/**
 * One machine of a run, as its fingerprint probe saw it: results point at it by
 * `machineId` and `fingerprint`.
 */
export interface MachineRecord {
  runId: string;
  machineId: string;
  target: string;
  provider: string;
  instanceType: string;
  region?: string;
  zone?: string;
  hostname: string;
  /**
   * The *hash* of `hardware` (`fingerprintHash`, 16 hex): equal on machines a benchmark should
   * not tell apart. Stored under this name (see `RepetitionResult.fingerprint`).
   */
  fingerprint: string;
  /** When the probe ran (ISO 8601). */
  collectedAt: string;
  /** The whole `Fingerprint` (src/fingerprint), as JSON. */
  hardware: unknown;
  /** Where a scheduler placed it (`Machine.placement`: Slurm's cluster, partition, node, job, GRES, CPUs). */
  placement?: Readonly<Record<string, string>>;
  /**
   * How long it took to become usable: ms from the request to each step reached (`created`,
   * `running`, `ssh`, `docker`, `images`, `agent`, `firstRepetition`; `requested` is 0).
   */
  provision?: Readonly<Partial<Record<ProvisionStep, number>>>;
}

/** The steps of a machine's provisioning timeline (`MachineRecord.provision`), in order. */
export const PROVISION_STEPS = [
  'requested',
  'created',
  'running',
  'ssh',
  'docker',
  'images',
  'agent',
  'firstRepetition',
] as const;

export type ProvisionStep = (typeof PROVISION_STEPS)[number];

export type RunStatus = 'running' | 'passed' | 'failed' | 'cancelled' | 'error';

/** One of `total` parts of a matrix split among CI agents (`run --shard index/total`); 1-based. */
export interface Shard {
  index: number;
  total: number;
}

export interface RunRecord {
  id: string;
  name: string;
  matrixPath: string;
  /**
   * `running` until every shard of a sharded run has finished; then the worst of the
   * shards' statuses (error > failed > cancelled > passed).
   */
  status: RunStatus;
  startedAt: string;
  finishedAt?: string;
  cells: number;
  repetitions: number;
  passed: number;
  failed: number;
  /** Labels given with `run --tag` (e.g. `nightly`, `release-1.2`): `--baseline <tag>` finds the latest passing run with one. */
  tags?: readonly string[];
  /** Write side: the part of the run this process runs; its counts are the shard's own. */
  shard?: Shard;
  /** Read side: a sharded run as its stored parts add up (counts are the sums). */
  shards?: { total: number; done: number };
}

/** A cell of a run as stored when the run started. */
export interface StoredCell {
  id: string;
  /** Position in the plan. */
  index: number;
  benchmark: string;
  target: string;
  provider: string;
  params: Readonly<Record<string, ParamValue>>;
  /** Measured repetitions planned (warmups and controls not counted). */
  repetitions: number;
}

/** One value of one series at one instant. */
export interface MetricSample {
  runId: string;
  /** The cell and repetition running when it was measured; `''` and 0 between repetitions. */
  cellId: string;
  repetition: number;
  /**
   * Where it was measured: `container` (cgroup files), `host` (the machine), `gpu`
   * (nvidia-smi), `app` (lines the benchmark prints), `collector` (benchyard's own cost).
   */
  scope: MetricScope;
  /** ECS-aligned name, e.g. `container.cpu.usage.cores`. */
  name: string;
  unit: string;
  value: number;
  /** Milliseconds since the epoch. */
  timestamp: number;
  /** Per-series sequence number, so a sink can store each sample once. */
  seq: number;
  containerId?: string;
  /** The device within the scope, part of the series: a GPU uuid, a disk, a network interface. */
  device?: string;
  host: string;
}

export type MetricScope = 'container' | 'host' | 'gpu' | 'app' | 'collector';

/** Warmups, then controls, then measured repetitions (before any adaptive extension). */
export function plannedRepetitions(cell: Pick<MatrixCell, 'warmup' | 'control' | 'repetitions'>): number {
  return cell.warmup + cell.control + cell.repetitions;
}

export type RepetitionKind = 'warmup' | 'control' | 'measured';

/**
 * In which order a target's repetitions run. `blocked`: each cell's repetitions back to
 * back. `interleaved`: in rounds, one repetition of every cell per round, each round in a
 * new seeded random order (duet-style: drift and noisy neighbours hit every contender
 * alike). `random`: all repetitions in one seeded random order, each cell's in sequence.
 */
export type RunOrder = 'blocked' | 'interleaved' | 'random';

/** What repetition `rep` (1-based) of the cell is. */
export function repetitionKind(cell: Pick<MatrixCell, 'warmup' | 'control'>, rep: number): RepetitionKind {
  if (rep <= cell.warmup) return 'warmup';
  return rep <= cell.warmup + cell.control ? 'control' : 'measured';
}

/**
 * What a run asks of the world, as ports: the CLI (the composition root) wires the
 * adapters — stores, providers, the controller's engine, a terminal — and src/run never
 * picks one itself, so the whole run can be driven with fakes.
 */
import type {
  ArtifactStore,
  Clock,
  InfrastructureError,
  Ledger,
  Logger,
  MetricSink,
  Provider,
  RepetitionResult,
  ResultQuery,
  ResultStore,
  RunRecord,
} from '../core/index.js';
import type { EventSink } from '../events/index.js';
import type { RunEvent, RunOutcome, SchedulerDeps } from '../schedule/index.js';
import type { Plan } from '../plan/index.js';

/** Stored runs as the checks before a run read them; closed after use. */
export interface StoredRuns {
  getRun(id: string): Promise<RunRecord | undefined>;
  listRuns(limit?: number): Promise<RunRecord[]>;
  listResults(q: ResultQuery): Promise<RepetitionResult[]>;
  close(): Promise<void>;
}

/** Where earlier runs are read: the state folder's store, and Elasticsearch where the run writes there too. */
export interface RunHistory {
  /** The state folder's store; undefined where the folder holds none yet (nothing is created). */
  state(): StoredRuns | undefined;
  /** Elasticsearch's runs (only asked where the request names an Elasticsearch URL). */
  elasticsearch?(url: string): StoredRuns;
}

/**
 * The state folder's health as the embedded store sees it (`SqliteStore` is one): its
 * first fault, what it dropped since, and whether a run's end reached the file.
 */
export interface StateHealth {
  readonly file: string;
  readonly failure: InfrastructureError | undefined;
  readonly lost: { samples: number; events: number };
  /** undefined where the run's end was never tried. */
  runEndStored(runId: string): boolean | undefined;
}

/** The run's stores, opened once the checks passed. */
export interface RunStores {
  /** Results, machines and samples: the embedded store first, then any secondary. */
  readonly store: ResultStore & MetricSink;
  readonly artifacts: ArtifactStore;
  /** Where container events are recorded, by name (for log lines). */
  readonly eventSinks: Readonly<Record<string, EventSink>>;
  readonly health: StateHealth;
  /** Closes every store; throws where one failed (a secondary store's write, its spool). */
  close(): Promise<void>;
}

/** The providers and what they share (session, ledger), wired once the stores are open. */
export interface RunProviders {
  /** Labels everything this controller creates. */
  readonly session: string;
  readonly providers: ReadonlyMap<string, Provider>;
  /** The run itself is recorded here like a machine, so `gc` can end it should this process die. */
  readonly ledger: Pick<Ledger, 'intend' | 'update' | 'close'>;
  close(): void | Promise<void>;
}

/** The progress of a run as a user follows it (a bar, plain lines). */
export interface RunProgress {
  onEvent(e: RunEvent): void;
  /** Called once, before anything else is said about the run's end. */
  stop(): void;
}

/** What runs a placed plan: the scheduler, or a fake. */
export interface PlanRunner {
  run(
    plan: Plan,
    opts: { runId: string; signal: AbortSignal; tags?: readonly string[] },
  ): Promise<RunOutcome>;
}

export interface RunDeps {
  clock: Clock;
  logger: Logger;
  /** Cancels the run (SIGINT): queued cells are dropped, running containers killed, all released. */
  signal: AbortSignal;
  /** Lines a user reads whatever the log level (the shard's part, waiting for a machine). */
  notice(line: string): void;
  /** The progress of the run, from the number of repetitions placed. */
  progress(repetitions: number): RunProgress;
  history: RunHistory;
  openStores(): Promise<RunStores>;
  openProviders(): Promise<RunProviders>;
  /** What the scheduler gets from the composition root: the controller's engine, the metrics of a machine. */
  scheduling?: Pick<SchedulerDeps, 'imageSource' | 'monitor' | 'fingerprintImage'>;
  /** @default the Scheduler */
  planRunner?: (deps: SchedulerDeps) => PlanRunner;
}

/** What `gc` is given (its ports) and what it answers: one row per thing it looked at. */
import type Docker from 'dockerode';
import type {
  Clock,
  Ledger,
  LedgerEntry,
  MachineLeases,
  Provider,
  ResourceRef,
  SshEndpoint,
  SshSession,
} from '../core/index.js';
import type { SweepOptions, SweepRow } from './engine-sweep.js';

export interface GcRequest {
  dryRun?: boolean;
  /** Only this session (also tagged resources this ledger does not know). */
  session?: string;
  /** Also tagged resources of other controllers that have not expired yet. */
  all?: boolean;
  /** Also what a controller still running on this host holds. */
  force?: boolean;
}

/** One thing gc looked at, and what it did or would do. */
export interface GcRow {
  provider: string;
  kind: string;
  id: string;
  session: string;
  action: string;
}

export interface GcReport {
  rows: GcRow[];
  /** What could not be cleaned up (gc should run again). */
  failures: number;
}

/** Runs whose controller is gone, as the embedded store marks them. */
export interface OrphanRuns {
  /** Marks the run (or its shard's part) cancelled; false where it had ended. */
  cancelOrphan(runId: string, finishedAt: string, shard?: number): boolean;
  close(): Promise<void>;
}

export interface GcDeps {
  ledger: Pick<Ledger, 'open' | 'close' | 'get'> & { all(limit?: number): LedgerEntry[] };
  /** Every provider, by name: those this ledger used say where to look (`discover`). */
  providers: ReadonlyMap<string, Provider>;
  /** Opened only where a run's controller is gone. */
  openRuns(): OrphanRuns;
  leases: MachineLeases;
  /** This machine's engine, where one is expected (its socket, DOCKER_HOST); else undefined. */
  localEngine(): Docker | undefined;
  /** The SSH endpoint an ssh ledger entry's details name (undefined: not one). */
  sshEndpoint(details: Readonly<Record<string, unknown>>): SshEndpoint | undefined;
  connect(endpoint: SshEndpoint, signal: AbortSignal): Promise<SshSession>;
  clock: Clock;
  /** Whether a controller process runs (knowable on its host only). @default controllerRuns */
  controllerRuns?: (host: string | undefined, pid: number | undefined) => boolean | undefined;
  /** This process's pid: its own entries are never kept as a live controller's. @default process.pid */
  pid?: number;
  /** Sweeps one engine. @default sweepEngine */
  sweep?: (docker: Docker, engine: string, o: SweepOptions) => Promise<SweepRow[]>;
}

export function row(provider: string, kind: string, id: string, session: string, action: string): GcRow {
  return { provider, kind, id, session, action };
}

/** A ledger entry as its provider is asked about it. */
export function toRef(e: LedgerEntry): ResourceRef {
  return {
    provider: e.provider,
    kind: e.kind,
    id: e.resourceId ?? '',
    ...(e.region ? { region: e.region } : {}),
    session: e.session,
    owner: e.owner,
    expiresAt: e.expiresAt,
    ledgerKey: e.key,
    details: e.details,
  };
}

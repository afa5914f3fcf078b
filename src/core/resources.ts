/**
 * Things that cost money or hold a machine: the ledger that records them before they
 * exist, the references `gc` works with, and how providers reach a machine's Docker engine.
 */
import type Docker from 'dockerode';
import type { Clock, Logger } from './ports.js';
import type { MachineLeases } from './lease.js';

/** Tag keys put on every cloud resource benchyard creates (EC2 tags, SoftLayer tags). */
export const CLOUD_TAGS = {
  session: 'benchyard:session',
  owner: 'benchyard:owner',
  expiresAt: 'benchyard:expires-at',
  /** The ledger entry the resource belongs to: links a tagged resource back to its record. */
  ledgerKey: 'benchyard:ledger-key',
} as const;

export type LedgerStatus = 'creating' | 'active' | 'releasing' | 'released' | 'failed';

/** One resource benchyard created or leased, as recorded in the ledger. */
export interface LedgerEntry {
  /** Chosen before the create call; also sent as the idempotency token / tag / host name. */
  key: string;
  provider: string;
  /** `instance`, `key-pair`, `security-group`, `virtual-guest`, `hardware`, `lease`. */
  kind: string;
  session: string;
  owner: string;
  target?: string;
  region?: string;
  zone?: string;
  /** The provider's id once the create call answered (instance id, guest id, host). */
  resourceId?: string;
  status: LedgerStatus;
  createdAt: string;
  updatedAt: string;
  expiresAt: string;
  /**
   * Non-secret facts needed to find and release it later without the matrix (endpoint,
   * instance type, price). Redacted before it is written.
   */
  details: Readonly<Record<string, unknown>>;
  error?: string;
}

export interface LedgerIntent {
  provider: string;
  kind: string;
  target?: string;
  region?: string;
  zone?: string;
  details?: Record<string, unknown>;
}

/**
 * The record of every resource benchyard creates. `intend` is written (durably) *before*
 * the create call; `update` reconciles it with what the call returned; `close` once the
 * resource is confirmed gone. Open entries are what `gc` starts from.
 */
export interface Ledger {
  readonly session: string;
  readonly owner: string;
  intend(intent: LedgerIntent, expiresAt: Date): LedgerEntry;
  update(
    key: string,
    patch: Partial<Pick<LedgerEntry, 'resourceId' | 'region' | 'zone' | 'status' | 'error'>> & {
      details?: Record<string, unknown>;
    },
  ): LedgerEntry;
  /** The resource is gone (or never came to exist): the entry is no longer open. */
  close(key: string, status?: 'released' | 'failed', error?: string): void;
  get(key: string): LedgerEntry | undefined;
  /** Entries not yet released, oldest first; all sessions unless one is given. */
  open(filter?: { provider?: string; session?: string }): LedgerEntry[];
}

/** A resource found at a provider (by tag, name or ledger record), for `gc`. */
export interface ResourceRef {
  provider: string;
  kind: string;
  id: string;
  region?: string;
  /** The provider's own state word (`running`, `shutting-down`, …) where it has one. */
  state?: string;
  session?: string;
  owner?: string;
  expiresAt?: string;
  ledgerKey?: string;
  /** Where to reach the provider again (endpoint), not secret. */
  details?: Readonly<Record<string, unknown>>;
}

/** How to reach a machine over SSH. Secrets (key contents, passphrases) never leave the connector. */
export interface SshEndpoint {
  host: string;
  port: number;
  user: string;
  /** Private key file; read by the connector, never logged. */
  keyFile?: string;
  /** ssh-agent socket (`SSH_AUTH_SOCK`) to authenticate with. */
  agent?: string;
  /** known_hosts file to verify the host key against; default ~/.ssh/known_hosts. */
  knownHostsFile?: string;
  /** false only where the matrix opts out explicitly. */
  verifyHostKey: boolean;
  /** The Docker engine's socket on the machine. */
  dockerSocket: string;
  /** Give up connecting after this long (a machine still booting is retried until then). */
  readyTimeoutMs?: number;
}

/** A machine's Docker engine reached over one persistent SSH connection. */
export interface SshSession extends AsyncDisposable {
  readonly docker: Docker;
  readonly endpoint: SshEndpoint;
  /** Runs a command on the machine (not in a container); resolves with its output. */
  exec(command: string, signal?: AbortSignal): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Resolves when the connection is lost or closed. */
  readonly closed: Promise<void>;
  close(): Promise<void>;
}

export interface MachineConnector {
  /** Connects and waits until the Docker engine behind the endpoint answers. */
  connect(endpoint: SshEndpoint, signal: AbortSignal): Promise<SshSession>;
}

/** What every provider is constructed with by the composition root. */
export interface ProviderContext {
  ledger: Ledger;
  connector: MachineConnector;
  /** How long machines may live; cloud machines switch themselves off at this time. */
  maxLifetimeMs: number;
  clock: Clock;
  logger: Logger;
  /**
   * Where to reach a provisioned machine: default the address the cloud reports. Tests
   * point it at local SSH hosts (`BENCHYARD_TEST_ADDRESSES`).
   */
  resolveAddress?: (machine: { key: string; publicIp?: string; privateIp?: string }) => string;
  /** Hourly price of an instance type from the price table, where it lists one. */
  price?: (query: PriceQuery) => HourlyPrice | undefined;
  /** Named pools of machines (`benchyard pool`), read at run time by targets with `pool:`. */
  pools?: PoolDirectory;
  /**
   * Leases on machines that exist already (SSH hosts, pool members, this machine), held on
   * the machines themselves so that every controller agrees.
   */
  leases?: MachineLeases;
  /** How often a machine held by another controller is looked at again. @default 2000 */
  leasePollMs?: number;
  /** Progress a user watching should see whatever the log level (`waiting for lab-1, held by …`). */
  progress?: (line: string) => void;
}

/**
 * A machine of a named pool. `draining`: it takes no new work, what runs on it finishes;
 * `removed`: it left the pool (with `now`, what runs on it is stopped and re-run elsewhere).
 * A member is identified by `host` and `port` within its pool.
 */
export interface PoolMember {
  pool: string;
  /** Address or ~/.ssh/config host alias. */
  host: string;
  /** Overrides the target's `ssh.port`. */
  port?: number;
  /** Overrides the target's `ssh.user`. */
  user?: string;
  /** Overrides the target's `ssh.dockerSocket`. */
  dockerSocket?: string;
  state: 'active' | 'draining' | 'removed';
  /** Removed with `--now`: its running repetitions are stopped at once. */
  now?: boolean;
  addedAt: string;
  updatedAt: string;
}

/** Where the members of named pools are kept; read again whenever a run looks at a pool. */
export interface PoolDirectory {
  /** Every member the pool ever had, removed ones included, oldest first; [] for an unknown pool. */
  members(pool: string): PoolMember[];
}

export interface PriceQuery {
  provider: string;
  instanceType: string;
  region?: string;
  spot: boolean;
}

export interface HourlyPrice {
  usd: number;
  /** The day the table's figure was taken (YYYY-MM-DD). */
  asOf: string;
  source: string;
}

/** The `ssh:` block of a target (matrix), as validated by `src/config/targets/ssh.ts`. */
export interface SshLoginOptions {
  user?: string | undefined;
  port?: number | undefined;
  keyFile?: string | undefined;
  /** true: the agent at SSH_AUTH_SOCK; a string: that socket. */
  agent?: boolean | string | undefined;
  knownHosts?: string | undefined;
  hostKeyCheck: 'strict' | 'off';
  dockerSocket: string;
  connectTimeoutMs: number;
}

/** How to reach `host` with a target's SSH settings. */
export function sshEndpoint(host: string, login: SshLoginOptions, defaults: { user: string }): SshEndpoint {
  const agent = login.agent === true ? process.env.SSH_AUTH_SOCK : login.agent || undefined;
  return {
    host,
    port: login.port ?? 22,
    user: login.user ?? defaults.user,
    ...(login.keyFile ? { keyFile: login.keyFile } : {}),
    ...(agent ? { agent } : {}),
    ...(login.knownHosts ? { knownHostsFile: login.knownHosts } : {}),
    verifyHostKey: login.hostKeyCheck !== 'off',
    dockerSocket: login.dockerSocket,
    readyTimeoutMs: login.connectTimeoutMs,
  };
}

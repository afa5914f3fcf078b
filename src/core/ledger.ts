/**
 * The ledger: the record of every resource benchyard creates or holds, written before the
 * resource exists, and the references `gc` works with. Providers write it through the
 * provider kit (`provider-kit.ts`); the SQLite adapter is `src/ledger`.
 */

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

/** What `update` may change of an entry; `details` are merged into the recorded ones. */
export type LedgerPatch = Partial<
  Pick<LedgerEntry, 'resourceId' | 'region' | 'zone' | 'status' | 'error'>
> & {
  details?: Record<string, unknown>;
};

/**
 * The record of every resource benchyard creates. `intend` is written (durably) *before*
 * the create call; `update` reconciles it with what the call returned; `close` once the
 * resource is confirmed gone. Open entries are what `gc` starts from.
 */
export interface Ledger {
  readonly session: string;
  readonly owner: string;
  intend(intent: LedgerIntent, expiresAt: Date): LedgerEntry;
  update(key: string, patch: LedgerPatch): LedgerEntry;
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

/**
 * `pool list` (and `serve`'s /api/pools): the members of the pools, each with who holds it
 * as this state's ledger records it, and the machines of cloud targets (elastic pools)
 * that runs hold. `holders.ts` asks the machines themselves.
 */
import { InputError, type LedgerEntry, type PoolMember } from '../core/index.js';
import { SqliteLedger } from '../ledger/index.js';
import { withPools } from './members.js';

/**
 * A member as `pool list --json` prints it: who holds it — read from the machine itself
 * (`source: 'machine'`), or this state's record where the machine was not asked or did not
 * answer (`source: 'ledger'`).
 */
export interface PoolListRow extends PoolMember {
  heldBy?: {
    session: string;
    owner: string;
    since: string;
    target?: string;
    source?: 'machine' | 'ledger';
    /** Read from the machine: the holder's process and until when it holds. */
    controller?: string;
    expiresAt?: string;
    expired?: boolean;
  };
  /** Why the machine could not be asked who holds it. */
  unreachable?: string;
}

export type HeldBy = NonNullable<PoolListRow['heldBy']>;

/** A cloud machine (or one being created) that a run holds, as `pool list` shows it. */
export interface HeldMachineRow {
  target?: string;
  provider: string;
  kind: string;
  machine: string;
  where: string;
  status: string;
  heldBy: HeldBy;
  expiresAt: string;
}

/** What `pool list --json` prints (and `serve` answers on /api/pools). */
export interface PoolListing {
  members: PoolListRow[];
  machines: HeldMachineRow[];
}

/**
 * The members of the pools (or of one: an unknown pool is an InputError), each with the
 * lease that holds it, and (for all pools) the machines of cloud targets that runs hold.
 */
export function listPools(state: string, pool?: string): PoolListing {
  return withPools(state, (pools) => {
    const known = pools.pools();
    if (pool !== undefined && !known.includes(pool))
      throw new InputError(
        `no pool '${pool}' (${known.length ? `pools: ${known.join(', ')}` : 'none yet'})`,
        {
          pool,
        },
      );
    const members = pool === undefined ? pools.list() : pools.members(pool);
    const ledger = new SqliteLedger(state, 'pool-list');
    try {
      return poolListing(members, ledger.open(), pool === undefined);
    } finally {
      ledger.dispose();
    }
  });
}

/** The listing from the members and the ledger's open entries; `withMachines`: also the cloud machines. */
export function poolListing(
  members: readonly PoolMember[],
  open: readonly LedgerEntry[],
  withMachines: boolean,
): PoolListing {
  const leases = open.filter((e) => e.provider === 'ssh' && e.kind === 'lease');
  return {
    members: members.map((m): PoolListRow => {
      const lease = holderOf(m, members, leases);
      return lease ? { ...m, heldBy: recordedHolder(lease) } : { ...m };
    }),
    // The machines of elastic (cloud) targets that runs hold now: one table with the pools.
    machines: withMachines ? open.filter((e) => e.provider !== 'ssh').map(machineRow) : [],
  };
}

/**
 * The open lease on the member's machine (`user@host:port`). A member without its own port
 * matches any port of its host that no other member of the pool names.
 */
export function holderOf(
  m: PoolMember,
  members: readonly PoolMember[],
  leases: readonly LedgerEntry[],
): LedgerEntry | undefined {
  const named = new Set(
    members.filter((o) => o.pool === m.pool && o.host === m.host && o.port !== undefined).map((o) => o.port),
  );
  return leases.find((e) => {
    const at = /@([^@]+):(\d+)$/.exec(e.resourceId ?? '');
    if (!at || at[1] !== m.host) return false;
    const port = Number(at[2]);
    return m.port !== undefined ? port === m.port : !named.has(port);
  });
}

function machineRow(e: LedgerEntry): HeldMachineRow {
  return {
    ...(e.target ? { target: e.target } : {}),
    provider: e.provider,
    kind: e.kind,
    machine: e.resourceId ?? `(being created: ${e.key})`,
    where: e.zone ?? e.region ?? '',
    status: e.status,
    heldBy: recordedHolder(e),
    expiresAt: e.expiresAt,
  };
}

function recordedHolder(e: LedgerEntry): HeldBy {
  return {
    session: e.session,
    owner: e.owner,
    since: e.createdAt,
    ...(e.target ? { target: e.target } : {}),
    source: 'ledger',
  };
}

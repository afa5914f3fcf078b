/**
 * `benchyard pool`: named pools of SSH machines (`pool: <name>` targets). Members can be
 * added, removed and drained at any time, also while a run uses the pool: the run picks
 * the change up within a second or so. `pool list` also shows the machines of cloud
 * targets (elastic pools: `count: { min, max }`) that runs hold.
 */
import { errorMessage, InputError, type LedgerEntry, type PoolMember } from '../../core/index.js';
import { sshLogin } from '../../config/targets/ssh.js';
import type { SshHostsProvider } from '../../../providers/ssh/index.js';
import { dataTable } from '../../report/index.js';
import { providerSet } from '../providers.js';
import { SqliteLedger } from '../../ledger/index.js';
import { memberLabel, SqlitePoolStore } from '../../pool/index.js';
import type { CliIo } from '../io.js';

export interface PoolAddOptions {
  state: string;
  port?: string;
  user?: string;
  dockerSocket?: string;
}

export interface PoolRemoveOptions {
  state: string;
  port?: string;
  now?: boolean;
}

export interface PoolListOptions {
  state: string;
  json?: boolean;
  /** false (`--no-probe`): only this state's record, without asking the machines. */
  probe?: boolean;
  /** How to log in to the members to read their lease (else ~/.ssh/config and the agent). */
  sshKey?: string;
  knownHosts?: string;
  user?: string;
}

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

export function poolAddCommand(pool: string, hosts: string[], opts: PoolAddOptions, io: CliIo): void {
  const port = parsePort(opts.port);
  withPools(opts.state, (pools) => {
    for (const host of hosts) {
      const m = pools.add(pool, {
        host,
        port,
        ...(opts.user !== undefined ? { user: opts.user } : {}),
        ...(opts.dockerSocket !== undefined ? { dockerSocket: opts.dockerSocket } : {}),
      });
      io.stdout(`pool '${pool}': ${memberLabel(m)} is active\n`);
    }
  });
}

export function poolRemoveCommand(pool: string, host: string, opts: PoolRemoveOptions, io: CliIo): void {
  const port = parsePort(opts.port);
  withPools(opts.state, (pools) => {
    const m = pools.remove(pool, host, { now: Boolean(opts.now), ...(port !== undefined ? { port } : {}) });
    io.stdout(
      `pool '${pool}': ${memberLabel(m)} removed; ${
        m.now
          ? 'a run using it stops what runs there now (it runs again on another member)'
          : 'a run using it finishes its current cell there and takes no other'
      }\n`,
    );
  });
}

export function poolDrainCommand(pool: string, opts: { state: string }, io: CliIo): void {
  withPools(opts.state, (pools) => {
    const draining = pools.drain(pool).filter((m) => m.state === 'draining');
    io.stdout(
      `pool '${pool}': ${draining.length} members draining (${draining.map(memberLabel).join(', ') || 'none'}); runs finish their current cells there and take no other\n`,
    );
  });
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
    if (pool !== undefined && !pools.pools().includes(pool)) {
      const known = pools.pools();
      throw new InputError(
        `no pool '${pool}' (${known.length ? `pools: ${known.join(', ')}` : 'none yet'})`,
        {
          pool,
        },
      );
    }
    const members = pool === undefined ? pools.list() : pools.members(pool);
    const ledger = new SqliteLedger(state, 'pool-list');
    try {
      const open = ledger.open();
      const leases = open.filter((e) => e.provider === 'ssh' && e.kind === 'lease');
      return {
        members: members.map((m): PoolListRow => {
          const lease = holderOf(m, members, leases);
          return lease ? { ...m, heldBy: holder(lease) } : m;
        }),
        // The machines of elastic (cloud) targets that runs hold now: one table with the pools.
        machines: pool === undefined ? open.filter((e) => e.provider !== 'ssh').map(machineRow) : [],
      };
    } finally {
      ledger.dispose();
    }
  });
}

export async function poolListCommand(
  pool: string | undefined,
  opts: PoolListOptions,
  io: CliIo,
): Promise<void> {
  const listing = listPools(opts.state, pool);
  const members = opts.probe === false ? listing.members : await readHolders(listing.members, opts, io);
  const { machines } = listing;
  if (opts.json) return io.stdout(`${JSON.stringify({ members, machines }, null, 2)}\n`);
  if (members.length === 0 && machines.length === 0)
    return io.stdout("no pools yet: 'benchyard pool add <pool> <host...>' makes one\n");
  if (members.length > 0)
    io.stdout(
      `${dataTable(
        ['pool', 'member', 'user', 'docker socket', 'state', 'held by'],
        members.map((r) => [
          r.pool,
          memberLabel(r),
          r.user ?? '',
          r.dockerSocket ?? '',
          r.state === 'removed' && r.now ? 'removed (now)' : r.state,
          r.heldBy ? heldByText(r.heldBy) : r.unreachable ? `? (${r.unreachable})` : '',
        ]),
      )}\n`,
    );
  if (machines.length > 0)
    io.stdout(
      `machines of cloud targets held by runs:\n${dataTable(
        ['target', 'provider', 'machine', 'where', 'status', 'held by', 'expires'],
        machines.map((m) => [
          m.target ?? '',
          m.provider,
          m.machine,
          m.where,
          m.status,
          heldByText(m.heldBy),
          m.expiresAt,
        ]),
      )}\n`,
    );
}

/**
 * Asks every member (removed ones excepted) who holds it, from its own lease: the truth
 * across controllers. A member that does not answer within 10 s keeps this state's record.
 */
async function readHolders(members: PoolListRow[], opts: PoolListOptions, io: CliIo): Promise<PoolListRow[]> {
  const set = await providerSet({ state: opts.state, logger: io.logger, maxLifetimeMs: 3_600_000 });
  try {
    const ssh = set.providers.get('ssh') as SshHostsProvider;
    const login = sshLogin.parse({
      ...(opts.sshKey ? { keyFile: opts.sshKey } : {}),
      ...(opts.knownHosts ? { knownHosts: opts.knownHosts } : {}),
      ...(opts.user ? { user: opts.user } : {}),
      connectTimeout: '10s',
    });
    return await Promise.all(
      members.map(async (m): Promise<PoolListRow> => {
        if (m.state === 'removed') return m;
        const signal = AbortSignal.any([io.signal, AbortSignal.timeout(15_000)]);
        try {
          const h = await ssh.holder(
            {
              host: m.host,
              ...(m.port !== undefined ? { port: m.port } : {}),
              ...(m.user !== undefined ? { user: m.user } : {}),
              ...(m.dockerSocket !== undefined ? { dockerSocket: m.dockerSocket } : {}),
            },
            login,
            signal,
          );
          const { heldBy: _record, ...rest } = m;
          if (!h) return rest;
          return {
            ...rest,
            heldBy: {
              session: h.session,
              owner: h.owner,
              since: h.since,
              ...(h.machine ? { target: h.machine } : {}),
              source: 'machine',
              controller: `pid ${h.pid} on ${h.host}`,
              expiresAt: h.expiresAt,
              expired: h.expired,
            },
          };
        } catch (err) {
          return { ...m, unreachable: errorMessage(err) };
        }
      }),
    );
  } finally {
    set.close();
  }
}

/** A cloud machine (or one being created) that a run holds, as `pool list` shows it. */
export interface HeldMachineRow {
  target?: string;
  provider: string;
  kind: string;
  machine: string;
  where: string;
  status: string;
  heldBy: NonNullable<PoolListRow['heldBy']>;
  expiresAt: string;
}

function machineRow(e: LedgerEntry): HeldMachineRow {
  return {
    ...(e.target ? { target: e.target } : {}),
    provider: e.provider,
    kind: e.kind,
    machine: e.resourceId ?? `(being created: ${e.key})`,
    where: e.zone ?? e.region ?? '',
    status: e.status,
    heldBy: holder(e),
    expiresAt: e.expiresAt,
  };
}

function holder(e: LedgerEntry): NonNullable<PoolListRow['heldBy']> {
  return {
    session: e.session,
    owner: e.owner,
    since: e.createdAt,
    ...(e.target ? { target: e.target } : {}),
    source: 'ledger',
  };
}

function heldByText(h: NonNullable<PoolListRow['heldBy']>): string {
  const where = h.controller ? `, ${h.controller}` : '';
  const stale = h.expired ? ` (expired ${h.expiresAt}: taken over at the next acquire)` : '';
  const record = h.source === 'ledger' ? " (this state's record)" : '';
  return `${h.session} (${h.owner}${where}) since ${h.since}${stale}${record}`;
}

function withPools<T>(state: string, use: (pools: SqlitePoolStore) => T): T {
  const pools = new SqlitePoolStore(state);
  try {
    return use(pools);
  } finally {
    pools.dispose();
  }
}

function parsePort(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const port = Number(text);
  if (!/^\d+$/.test(text) || port < 1 || port > 65535)
    throw new InputError(`--port: '${text}' is not a port (1-65535)`);
  return port;
}

/**
 * The open lease on the member's machine (`user@host:port`). A member without its own port
 * matches any port of its host that no other member of the pool names.
 */
function holderOf(
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

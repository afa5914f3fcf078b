/**
 * `benchyard pool`: named pools of SSH machines (`pool: <name>` targets). Members can be
 * added, removed and drained at any time, also while a run uses the pool: the run picks
 * the change up within a second or so. `pool list` also shows the machines of cloud
 * targets (elastic pools: `count: { min, max }`) that runs hold.
 */
import { InputError } from '../../core/index.js';
import { sshLogin } from '../../config/targets/ssh.js';
import type { SshHostsProvider } from '../../../providers/ssh/index.js';
import { dataTable } from '../../report/index.js';
import { providerSet } from '../providers.js';
import {
  addMembers,
  drainPool,
  listPools,
  memberLabel,
  readHolders,
  removeMember,
  type HeldBy,
  type PoolListRow,
} from '../../pool/index.js';
import type { CliIo } from '../io.js';

export type { HeldMachineRow, PoolListing, PoolListRow } from '../../pool/index.js';

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

export function poolAddCommand(pool: string, hosts: string[], opts: PoolAddOptions, io: CliIo): void {
  const port = parsePort(opts.port);
  addMembers(
    opts.state,
    pool,
    hosts,
    {
      port,
      ...(opts.user !== undefined ? { user: opts.user } : {}),
      ...(opts.dockerSocket !== undefined ? { dockerSocket: opts.dockerSocket } : {}),
    },
    (m) => io.stdout(`pool '${pool}': ${memberLabel(m)} is active\n`),
  );
}

export function poolRemoveCommand(pool: string, host: string, opts: PoolRemoveOptions, io: CliIo): void {
  const port = parsePort(opts.port);
  const m = removeMember(opts.state, pool, host, {
    now: Boolean(opts.now),
    ...(port !== undefined ? { port } : {}),
  });
  io.stdout(
    `pool '${pool}': ${memberLabel(m)} removed; ${
      m.now
        ? 'a run using it stops what runs there now (it runs again on another member)'
        : 'a run using it finishes its current cell there and takes no other'
    }\n`,
  );
}

export function poolDrainCommand(pool: string, opts: { state: string }, io: CliIo): void {
  const draining = drainPool(opts.state, pool);
  io.stdout(
    `pool '${pool}': ${draining.length} members draining (${draining.map(memberLabel).join(', ') || 'none'}); runs finish their current cells there and take no other\n`,
  );
}

export async function poolListCommand(
  pool: string | undefined,
  opts: PoolListOptions,
  io: CliIo,
): Promise<void> {
  const listing = listPools(opts.state, pool);
  const members = opts.probe === false ? listing.members : await probed(listing.members, opts, io);
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
        io.columns,
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
        io.columns,
      )}\n`,
    );
}

/** The members with who holds each as the machines say, asked over SSH with the given login. */
async function probed(members: PoolListRow[], opts: PoolListOptions, io: CliIo): Promise<PoolListRow[]> {
  const set = await providerSet({ state: opts.state, logger: io.logger, maxLifetimeMs: 3_600_000 });
  try {
    const ssh = set.providers.get('ssh') as SshHostsProvider;
    const login = sshLogin.parse({
      ...(opts.sshKey ? { keyFile: opts.sshKey } : {}),
      ...(opts.knownHosts ? { knownHosts: opts.knownHosts } : {}),
      ...(opts.user ? { user: opts.user } : {}),
      connectTimeout: '10s',
    });
    return await readHolders(members, (m, signal) => ssh.holder(m, login, signal), io.signal);
  } finally {
    set.close();
  }
}

function heldByText(h: HeldBy): string {
  const where = h.controller ? `, ${h.controller}` : '';
  const stale = h.expired ? ` (expired ${h.expiresAt}: taken over at the next acquire)` : '';
  const record = h.source === 'ledger' ? " (this state's record)" : '';
  return `${h.session} (${h.owner}${where}) since ${h.since}${stale}${record}`;
}

function parsePort(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const port = Number(text);
  if (!/^\d+$/.test(text) || port < 1 || port > 65535)
    throw new InputError(`--port: '${text}' is not a port (1-65535)`);
  return port;
}

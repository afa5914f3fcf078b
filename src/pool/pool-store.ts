/**
 * Named pools of machines in the embedded SQLite file (the same `benchyard.db` as the
 * results and the ledger, its own table). Members are changed from any shell while runs
 * read them: every call reads or writes the file, nothing is cached. A removed member is
 * kept (state `removed`) so `benchyard pool list` can still show it and re-adding it is
 * an update.
 */
import type Database from 'better-sqlite3';
import { openStateDb, stateWrite } from '../state/index.js';
import { InputError, systemClock, type Clock, type PoolDirectory, type PoolMember } from '../core/index.js';
import { NAME } from '../config/common-schema.js';

interface Row {
  pool: string;
  host: string;
  port: number;
  user: string | null;
  docker_socket: string | null;
  state: PoolMember['state'];
  now: number;
  added_at: string;
  updated_at: string;
}

/** What `add` is given: where the machine is and how its login differs from the target's. */
export interface NewPoolMember {
  host: string;
  port?: number | undefined;
  user?: string | undefined;
  dockerSocket?: string | undefined;
}

/** An address, a host name or an ~/.ssh/config alias (IPv6 included); no user, no spaces. */
const HOST = /^[A-Za-z0-9_][A-Za-z0-9._:%-]{0,252}$/;

export class SqlitePoolStore implements PoolDirectory {
  private readonly db: Database.Database;

  constructor(
    stateDir: string,
    private readonly clock: Clock = systemClock,
  ) {
    this.db = openStateDb(stateDir, { name: 'pools', synchronous: 'FULL' });
  }

  /**
   * Adds a machine to the pool (the pool exists from its first member). Adding a member
   * again is an update: it becomes active, and a given `user` / `dockerSocket` replaces the
   * one it had.
   */
  add(pool: string, member: NewPoolMember): PoolMember {
    checkPool(pool);
    checkMember(member);
    const now = this.now();
    stateWrite(this.db, `adding ${member.host} to pool '${pool}' in`, () =>
      this.db
        .prepare(
          `INSERT INTO pool_members (pool, host, port, user, docker_socket, state, now, added_at, updated_at)
         VALUES (@pool, @host, @port, @user, @dockerSocket, 'active', 0, @now, @now)
         ON CONFLICT (pool, host, port) DO UPDATE SET state = 'active', now = 0, updated_at = @now,
           user = coalesce(@user, user), docker_socket = coalesce(@dockerSocket, docker_socket)`,
        )
        .run({
          pool,
          host: member.host,
          port: member.port ?? 0,
          user: member.user ?? null,
          dockerSocket: member.dockerSocket ?? null,
          now,
        }),
    );
    return this.get(pool, member.host, member.port ?? 0)!;
  }

  /**
   * Takes a machine out of the pool: a run using it finishes its current cell there and
   * gives it back, or with `now` stops that cell at once (it runs again on another member).
   * `port` picks the member where the pool has the host more than once.
   */
  remove(pool: string, host: string, opts: { now?: boolean; port?: number } = {}): PoolMember {
    const member = this.find(pool, host, opts.port);
    stateWrite(this.db, `removing ${host} from pool '${pool}' in`, () =>
      this.db
        .prepare(
          `UPDATE pool_members SET state = 'removed', now = max(now, ?), updated_at = ?
         WHERE pool = ? AND host = ? AND port = ?`,
        )
        .run(opts.now ? 1 : 0, this.now(), pool, member.host, member.port ?? 0),
    );
    return this.get(pool, member.host, member.port ?? 0)!;
  }

  /** Every member still in the pool stops taking work; what runs on them finishes. */
  drain(pool: string): PoolMember[] {
    this.requirePool(pool);
    stateWrite(this.db, `draining pool '${pool}' in`, () =>
      this.db
        .prepare(
          `UPDATE pool_members SET state = 'draining', updated_at = ? WHERE pool = ? AND state = 'active'`,
        )
        .run(this.now(), pool),
    );
    return this.members(pool);
  }

  members(pool: string): PoolMember[] {
    const rows = this.db
      .prepare('SELECT * FROM pool_members WHERE pool = ? ORDER BY added_at, rowid')
      .all(pool) as Row[];
    return rows.map(fromRow);
  }

  /** Every member of every pool, by pool, oldest first. */
  list(): PoolMember[] {
    const rows = this.db.prepare('SELECT * FROM pool_members ORDER BY pool, added_at, rowid').all() as Row[];
    return rows.map(fromRow);
  }

  /** The pools that have (or had) members. */
  pools(): string[] {
    return (this.db.prepare('SELECT DISTINCT pool FROM pool_members ORDER BY pool').all() as Row[]).map(
      (r) => r.pool,
    );
  }

  dispose(): void {
    if (this.db.open) this.db.close();
  }

  private find(pool: string, host: string, port: number | undefined): PoolMember {
    const members = this.requirePool(pool);
    const matching = members.filter((m) => m.host === host && (port === undefined || m.port === port));
    if (matching.length === 1) return matching[0]!;
    const where = port === undefined ? `'${host}'` : `'${host}' port ${port}`;
    if (matching.length === 0)
      throw new InputError(
        `${where} is not a member of pool '${pool}' (members: ${members.map(memberLabel).join(', ')})`,
        { pool, host },
      );
    throw new InputError(
      `pool '${pool}' has ${host} more than once (${matching.map(memberLabel).join(', ')}): give its --port`,
      { pool, host },
    );
  }

  private requirePool(pool: string): PoolMember[] {
    checkPool(pool);
    const members = this.members(pool);
    if (members.length === 0) {
      const known = this.pools();
      throw new InputError(
        `no pool '${pool}' (${known.length ? `pools: ${known.join(', ')}` : "none yet: 'benchyard pool add' makes one"})`,
        { pool },
      );
    }
    return members;
  }

  private get(pool: string, host: string, port: number): PoolMember | undefined {
    const row = this.db
      .prepare('SELECT * FROM pool_members WHERE pool = ? AND host = ? AND port = ?')
      .get(pool, host, port) as Row | undefined;
    return row && fromRow(row);
  }

  private now(): string {
    return new Date(this.clock.now()).toISOString();
  }
}

/** `host`, or `host:port` where the member has its own port. */
export function memberLabel(m: Pick<PoolMember, 'host' | 'port'>): string {
  return m.port === undefined ? m.host : `${m.host}:${m.port}`;
}

function checkPool(pool: string): void {
  const parsed = NAME.safeParse(pool);
  if (!parsed.success)
    throw new InputError(`pool name '${pool}' ${parsed.error.issues[0]!.message}`, { pool });
}

function checkMember(m: NewPoolMember): void {
  if (!HOST.test(m.host))
    throw new InputError(
      `'${m.host}' is not a host: give an address, a host name or an ~/.ssh/config alias (the user goes in --user)`,
      { host: m.host },
    );
  if (m.port !== undefined && !(Number.isInteger(m.port) && m.port >= 1 && m.port <= 65535))
    throw new InputError(`port ${m.port} of '${m.host}' is not a port (1-65535)`, { host: m.host });
  if (m.user !== undefined && !/^[A-Za-z0-9_][A-Za-z0-9._-]*$/.test(m.user))
    throw new InputError(`'${m.user}' is not a login user name`, { host: m.host });
  if (m.dockerSocket !== undefined && !m.dockerSocket.startsWith('/'))
    throw new InputError(
      `docker socket '${m.dockerSocket}' of '${m.host}' must be an absolute path on the machine`,
      { host: m.host },
    );
}

function fromRow(r: Row): PoolMember {
  return {
    pool: r.pool,
    host: r.host,
    ...(r.port ? { port: r.port } : {}),
    ...(r.user ? { user: r.user } : {}),
    ...(r.docker_socket ? { dockerSocket: r.docker_socket } : {}),
    state: r.state,
    ...(r.now ? { now: true } : {}),
    addedAt: r.added_at,
    updatedAt: r.updated_at,
  };
}

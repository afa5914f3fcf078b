/**
 * The ledger in the embedded SQLite file (the same `benchyard.db` as the results, its own
 * table, v11 of `src/state`'s migrations). Every write is synchronous and durable
 * (`synchronous = FULL`) before it returns: `intend` is on disk before the create call it
 * precedes, so a controller killed between the call and its answer still leaves a record
 * for `benchyard gc`.
 */
import type Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import {
  redactValue,
  systemClock,
  type Clock,
  type Ledger,
  type LedgerEntry,
  type LedgerIntent,
  type LedgerStatus,
} from '../core/index.js';
import { openStateDb, stateWrite } from '../state/index.js';

interface Row {
  key: string;
  provider: string;
  kind: string;
  session: string;
  owner: string;
  target: string | null;
  region: string | null;
  zone: string | null;
  resource_id: string | null;
  status: LedgerStatus;
  created_at: string;
  updated_at: string;
  expires_at: string;
  details: string;
  error: string | null;
}

/** Who is creating resources: `user@host`, recorded as the owner tag. */
export function defaultOwner(): string {
  let user = 'unknown';
  try {
    user = os.userInfo().username;
  } catch {
    // no passwd entry (containers): keep 'unknown'
  }
  return `${user}@${os.hostname()}`;
}

export class SqliteLedger implements Ledger {
  private readonly db: Database.Database;

  constructor(
    stateDir: string,
    readonly session: string,
    readonly owner: string = defaultOwner(),
    private readonly clock: Clock = systemClock,
  ) {
    this.db = openStateDb(stateDir, { name: 'ledger', synchronous: 'FULL' });
  }

  intend(intent: LedgerIntent, expiresAt: Date): LedgerEntry {
    const now = new Date(this.clock.now()).toISOString();
    const entry: LedgerEntry = {
      key: randomBytes(6).toString('hex'),
      provider: intent.provider,
      kind: intent.kind,
      session: this.session,
      owner: this.owner,
      ...(intent.target ? { target: intent.target } : {}),
      ...(intent.region ? { region: intent.region } : {}),
      ...(intent.zone ? { zone: intent.zone } : {}),
      status: 'creating',
      createdAt: now,
      updatedAt: now,
      expiresAt: expiresAt.toISOString(),
      // Which controller holds it: gc leaves resources of a live controller alone.
      details: {
        ...(redactValue(intent.details ?? {}) as Record<string, unknown>),
        controllerPid: process.pid,
        controllerHost: os.hostname(),
      },
    };
    // Failing here, nothing is created: the caller's create call comes after.
    stateWrite(this.db, `recording ${intent.provider} ${intent.kind} in the ledger of`, () =>
      this.db
        .prepare(
          `INSERT INTO ledger_entries (key, provider, kind, session, owner, target, region, zone, status,
           created_at, updated_at, expires_at, details)
         VALUES (@key, @provider, @kind, @session, @owner, @target, @region, @zone, @status,
           @createdAt, @updatedAt, @expiresAt, @details)`,
        )
        .run({
          ...entry,
          target: entry.target ?? null,
          region: entry.region ?? null,
          zone: entry.zone ?? null,
          details: JSON.stringify(entry.details),
        }),
    );
    return entry;
  }

  update(
    key: string,
    patch: Partial<Pick<LedgerEntry, 'resourceId' | 'region' | 'zone' | 'status' | 'error'>> & {
      details?: Record<string, unknown>;
    },
  ): LedgerEntry {
    const current = this.get(key);
    if (!current) throw new Error(`ledger: no entry '${key}'`);
    const next: LedgerEntry = {
      ...current,
      ...(patch.resourceId !== undefined ? { resourceId: patch.resourceId } : {}),
      ...(patch.region !== undefined ? { region: patch.region } : {}),
      ...(patch.zone !== undefined ? { zone: patch.zone } : {}),
      ...(patch.status !== undefined ? { status: patch.status } : {}),
      ...(patch.error !== undefined ? { error: String(redactValue(patch.error)) } : {}),
      details: patch.details
        ? { ...current.details, ...(redactValue(patch.details) as Record<string, unknown>) }
        : current.details,
      updatedAt: new Date(this.clock.now()).toISOString(),
    };
    stateWrite(this.db, `updating ledger entry ${key} in`, () =>
      this.db
        .prepare(
          `UPDATE ledger_entries SET resource_id = ?, region = ?, zone = ?, status = ?, error = ?,
           details = ?, updated_at = ? WHERE key = ?`,
        )
        .run(
          next.resourceId ?? null,
          next.region ?? null,
          next.zone ?? null,
          next.status,
          next.error ?? null,
          JSON.stringify(next.details),
          next.updatedAt,
          key,
        ),
    );
    return next;
  }

  close(key: string, status: 'released' | 'failed' = 'released', error?: string): void {
    stateWrite(this.db, `closing ledger entry ${key} in`, () =>
      this.db
        .prepare(
          'UPDATE ledger_entries SET status = ?, error = coalesce(?, error), updated_at = ? WHERE key = ?',
        )
        .run(
          status,
          error === undefined ? null : String(redactValue(error)),
          new Date(this.clock.now()).toISOString(),
          key,
        ),
    );
  }

  get(key: string): LedgerEntry | undefined {
    const row = this.db.prepare('SELECT * FROM ledger_entries WHERE key = ?').get(key) as Row | undefined;
    return row && fromRow(row);
  }

  open(filter: { provider?: string; session?: string } = {}): LedgerEntry[] {
    const rows = this.db
      .prepare(
        `SELECT * FROM ledger_entries WHERE status NOT IN ('released', 'failed')
           AND (@provider IS NULL OR provider = @provider) AND (@session IS NULL OR session = @session)
         ORDER BY created_at, rowid`,
      )
      .all({ provider: filter.provider ?? null, session: filter.session ?? null }) as Row[];
    return rows.map(fromRow);
  }

  /** Every entry, newest first (for `gc --all` listings and tests). */
  all(limit = 1000): LedgerEntry[] {
    const rows = this.db
      .prepare('SELECT * FROM ledger_entries ORDER BY created_at DESC, rowid DESC LIMIT ?')
      .all(limit) as Row[];
    return rows.map(fromRow);
  }

  dispose(): void {
    this.db.close();
  }
}

function fromRow(r: Row): LedgerEntry {
  return {
    key: r.key,
    provider: r.provider,
    kind: r.kind,
    session: r.session,
    owner: r.owner,
    ...(r.target ? { target: r.target } : {}),
    ...(r.region ? { region: r.region } : {}),
    ...(r.zone ? { zone: r.zone } : {}),
    ...(r.resource_id ? { resourceId: r.resource_id } : {}),
    status: r.status,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    expiresAt: r.expires_at,
    details: JSON.parse(r.details) as Record<string, unknown>,
    ...(r.error ? { error: r.error } : {}),
  };
}

/**
 * The one ordered list of the state file's schema versions (`PRAGMA user_version`): the
 * store's tables (v1-v10), the ledger's (v11) and the pools' (v12). A file is brought to
 * the latest by running, in one write transaction, every step above its version.
 *
 * Every `up` is idempotent: on a file that already has what it makes it changes nothing.
 * Files of every earlier benchyard need that: before v11 the ledger and the pools made
 * their tables on every open, whatever the version, and before the chain ran in one
 * transaction a controller killed between two steps left a file with a step done but not
 * counted.
 */
import type Database from 'better-sqlite3';
import * as ddl from './schema-sql.js';

export interface Migration {
  /** The `user_version` a file has once this step is done: 1, 2, 3… with no gap. */
  readonly version: number;
  /** What the step adds, for people reading the list. */
  readonly name: string;
  /** Runs inside the transaction that also sets the version. */
  up(db: Database.Database): void;
}

const exec = (sql: string) => (db: Database.Database) => void db.exec(sql);

/**
 * Runs `sql` unless `table` has `column` already: the step's first change, so all of it
 * (a step's statements never ran apart: ALTER alone, or in one transaction).
 */
const unlessColumn = (table: string, column: string, sql: string) => (db: Database.Database) => {
  if (!hasColumn(db, table, column)) db.exec(sql);
};

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'runs, cells, results and metric samples', up: exec(ddl.SCHEMA_V1) },
  {
    version: 2,
    name: 'artifacts of each repetition',
    up: unlessColumn('results', 'artifacts', ddl.SCHEMA_V2),
  },
  { version: 3, name: 'warmup repetitions', up: unlessColumn('results', 'warmup', ddl.SCHEMA_V3) },
  {
    version: 4,
    name: 'samples told apart by container and device',
    up: unlessColumn('metric_samples', 'device', ddl.SCHEMA_V4),
  },
  { version: 5, name: 'the zone of each repetition', up: unlessColumn('results', 'zone', ddl.SCHEMA_V5) },
  { version: 6, name: 'container events', up: exec(ddl.SCHEMA_V6) },
  {
    version: 7,
    name: "hardware fingerprints and each run's machines",
    up: unlessColumn('results', 'fingerprint', ddl.SCHEMA_V7),
  },
  { version: 8, name: 'control repetitions', up: unlessColumn('results', 'control', ddl.SCHEMA_V8) },
  { version: 9, name: 'runs in shards', up: unlessColumn('runs', 'shards_total', ddl.SCHEMA_V9) },
  { version: 10, name: 'run tags and samples by time', up: unlessColumn('runs', 'tags', ddl.SCHEMA_V10) },
  { version: 11, name: 'the ledger', up: exec(ddl.LEDGER_V11) },
  { version: 12, name: 'machine pools', up: exec(ddl.POOLS_V12) },
  {
    version: 13,
    name: "where a scheduler placed a run's machines",
    up: unlessColumn('machines', 'placement', ddl.SCHEMA_V13),
  },
  {
    version: 14,
    name: 'suspect repetitions and how long machines took to provision',
    up: unlessColumn('results', 'suspect', ddl.SCHEMA_V14),
  },
];

/** The schema version of a file this benchyard makes. */
export const STATE_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

export function schemaVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

export interface MigrateOptions {
  /** Stop at this version (tests making the file of an older benchyard). Default: the latest. */
  to?: number;
  /** Default: `MIGRATIONS`. */
  migrations?: readonly Migration[];
}

/**
 * Brings the file to the latest version and returns the steps it ran (none when another
 * process got there first). A file newer than the list is refused: this benchyard cannot
 * know what its tables mean now.
 */
export function migrate(db: Database.Database, opts: MigrateOptions = {}): Migration[] {
  const list = opts.migrations ?? MIGRATIONS;
  checkOrder(list);
  const latest = list.length > 0 ? list[list.length - 1]!.version : 0;
  const to = opts.to ?? latest;
  const found = schemaVersion(db);
  if (found > latest)
    throw new Error(
      `its schema (v${found}) is newer than this benchyard's (v${latest}): open it with the benchyard that made it, or give another --state`,
    );
  if (found >= to) return [];
  // Under the write lock, reading the version again: processes started together (the
  // shards of a run, a run and `pool add`) migrate the file once, not each.
  return db
    .transaction(() => {
      const from = schemaVersion(db);
      const pending = list.filter((m) => m.version > from && m.version <= to);
      for (const m of pending) {
        m.up(db);
        db.pragma(`user_version = ${m.version}`);
      }
      return pending;
    })
    .immediate();
}

function hasColumn(db: Database.Database, table: string, column: string): boolean {
  return (db.pragma(`table_info(${table})`) as { name: string }[]).some((c) => c.name === column);
}

function checkOrder(list: readonly Migration[]): void {
  list.forEach((m, i) => {
    if (m.version !== i + 1)
      throw new Error(
        `migration '${m.name}' is version ${m.version}; at place ${i + 1} of the list it must be ${i + 1}`,
      );
  });
}

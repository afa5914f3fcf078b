/**
 * The state file's one list of migrations, on in-memory SQLite files: the files every
 * earlier benchyard made (built here from the DDL text each release ran, not through the
 * list) migrate to the same schema as a new file, keeping their rows.
 */
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import {
  MIGRATIONS,
  STATE_SCHEMA_VERSION,
  migrate,
  schemaVersion,
  type Migration,
} from '../../src/state/index.js';
import * as ddl from '../../src/state/schema-sql.js';

const STORE_DDL = [
  ddl.SCHEMA_V1,
  ddl.SCHEMA_V2,
  ddl.SCHEMA_V3,
  ddl.SCHEMA_V4,
  ddl.SCHEMA_V5,
  ddl.SCHEMA_V6,
  ddl.SCHEMA_V7,
  ddl.SCHEMA_V8,
  ddl.SCHEMA_V9,
  ddl.SCHEMA_V10,
];

const opened: Database.Database[] = [];
afterEach(() => opened.splice(0).forEach((db) => db.close()));
const memory = () => {
  const db = new Database(':memory:');
  opened.push(db);
  return db;
};

/**
 * A file as a release of benchyard with store schema `store` left it: the store ran its
 * steps and set `user_version`; the ledger and the pools made their tables on every open
 * (before or after the store: a `gc` or `pool add` on a new state folder came first).
 */
function releaseFile(store: number, opts: { ledger?: boolean; pools?: boolean } = {}): Database.Database {
  const db = memory();
  if (opts.ledger) db.exec(ddl.LEDGER_V11);
  for (const sql of STORE_DDL.slice(0, store)) db.exec(sql);
  if (store > 0) db.pragma(`user_version = ${store}`);
  if (opts.pools) db.exec(ddl.POOLS_V12);
  return db;
}

/** Tables and indexes with their SQL text (ALTERs rewrite it), by name. */
function schemaOf(db: Database.Database): string[] {
  return (
    db
      .prepare("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name")
      .all() as { type: string; name: string; sql: string }[]
  ).map((o) => `${o.type} ${o.name}: ${o.sql}`);
}

function tables(db: Database.Database): string[] {
  return db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    .pluck()
    .all() as string[];
}

/** One row in each table the file has, in the columns every version of it has. */
function addRows(db: Database.Database): void {
  const has = new Set(tables(db));
  if (has.has('runs'))
    db.prepare(
      'INSERT INTO runs (id, name, matrix_path, status, started_at, cells, repetitions) VALUES (?,?,?,?,?,?,?)',
    ).run('r1', 'nightly', '/m.yaml', 'passed', '2026-01-01T00:00:00Z', 1, 1);
  if (has.has('results'))
    db.prepare(
      `INSERT INTO results (run_id, cell_id, repetition, benchmark, benchmark_version, params, target, provider,
         machine_id, instance_type, image, image_digest, status, scores, started_at, finished_at, duration_ms, metrics)
       VALUES ('r1', 'c1', 1, 'b', 1, '{}', 't', 'local', 'm', 'local', 'i', 'sha256:0', 'passed', '[]', 's', 'f', 5, '{}')`,
    ).run();
  if (has.has('metric_samples'))
    db.prepare(
      `INSERT INTO metric_samples (run_id, cell_id, repetition, scope, name, seq, ts, value, unit, container_id, host${
        columns(db, 'metric_samples').includes('device') ? ', device' : ''
      }) VALUES ('r1', 'c1', 1, 'gpu', 'util', 0, 1000, 50, 'pct', 'ctr', 'h'${
        columns(db, 'metric_samples').includes('device') ? ", 'GPU-a'" : ''
      })`,
    ).run();
  if (has.has('ledger_entries'))
    db.prepare(
      `INSERT INTO ledger_entries (key, provider, kind, session, owner, status, created_at, updated_at, expires_at, details)
       VALUES ('k1', 'aws', 'instance', 's', 'o', 'active', 'c', 'u', 'e', '{}')`,
    ).run();
  if (has.has('pool_members'))
    db.prepare(
      `INSERT INTO pool_members (pool, host, state, added_at, updated_at) VALUES ('lab', 'h1', 'active', 'a', 'u')`,
    ).run();
}

function columns(db: Database.Database, table: string): string[] {
  return (db.pragma(`table_info(${table})`) as { name: string }[]).map((c) => c.name);
}

/** Every row of every table. */
function contents(db: Database.Database): Record<string, unknown[]> {
  return Object.fromEntries(tables(db).map((t) => [t, db.prepare(`SELECT * FROM "${t}" ORDER BY 1`).all()]));
}

function rowCounts(db: Database.Database): Record<string, number> {
  return Object.fromEntries(
    tables(db).map((t) => [t, db.prepare(`SELECT count(*) FROM "${t}"`).pluck().get() as number]),
  );
}

const fresh = () => {
  const db = memory();
  migrate(db);
  return db;
};

describe('the list of migrations', () => {
  it('is ordered 1, 2, 3… with unique versions and names, the last being the version of a new file', () => {
    expect(MIGRATIONS.map((m) => m.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
    expect(new Set(MIGRATIONS.map((m) => m.name)).size).toBe(MIGRATIONS.length);
    expect(STATE_SCHEMA_VERSION).toBe(MIGRATIONS.length);
    expect(schemaVersion(fresh())).toBe(STATE_SCHEMA_VERSION);
  });

  it('refuses a list with a gap or out of order, before touching the file', () => {
    const step = (version: number): Migration => ({ version, name: `v${version}`, up: () => {} });
    for (const list of [[step(1), step(3)], [step(2), step(1)], [step(1), step(1)], [step(0)]]) {
      const db = memory();
      expect(() => migrate(db, { migrations: list })).toThrow(/at place \d of the list it must be \d/);
      expect(schemaVersion(db)).toBe(0);
    }
  });
});

describe('a file made by an earlier benchyard', () => {
  const cases = [
    ...STORE_DDL.flatMap((_, i) => [
      { store: i + 1, ledger: false, pools: false },
      { store: i + 1, ledger: true, pools: true },
    ]),
    { store: 0, ledger: true, pools: false },
    { store: 0, ledger: false, pools: true },
    { store: 0, ledger: true, pools: true },
  ];

  it.each(cases)(
    'store v$store, ledger $ledger, pools $pools: migrates to the schema of a new file, rows kept',
    (c) => {
      const db = releaseFile(c.store, c);
      addRows(db);
      const rows = rowCounts(db);

      const ran = migrate(db).map((m) => m.version);

      expect(ran).toEqual(MIGRATIONS.map((m) => m.version).filter((v) => v > c.store));
      expect(schemaVersion(db)).toBe(STATE_SCHEMA_VERSION);
      expect(schemaOf(db)).toEqual(schemaOf(fresh()));
      expect(rowCounts(db)).toMatchObject(rows);
      expect(migrate(db)).toEqual([]);
    },
  );

  it('made by the last release (store v10, ledger, pools): it gains only the columns of v13 and v14', () => {
    const db = releaseFile(10, { ledger: true, pools: true });
    const before = schemaOf(db);
    migrate(db);
    expect(schemaOf(db)).toEqual(schemaOf(fresh()));
    const changed = schemaOf(db).filter((t, i) => t !== before[i]);
    expect(changed).toHaveLength(2);
    expect(changed[0]).toMatch(/CREATE TABLE machines[\s\S]*placement TEXT, provision TEXT,/);
    expect(changed[1]).toMatch(/CREATE TABLE results[\s\S]*suspect TEXT/);
  });

  it('keeps what v4 moved: v3 samples land in the new table with no container or device', () => {
    const db = releaseFile(3);
    db.prepare('INSERT INTO metric_samples VALUES (?,?,?,?,?,?,?,?,?,?,?)').run(
      'r',
      'c',
      1,
      'container',
      'cpu',
      0,
      1000,
      0.5,
      'cores',
      null,
      'h',
    );
    migrate(db);
    expect(db.prepare('SELECT name, value, container_id, device FROM metric_samples').all()).toEqual([
      { name: 'cpu', value: 0.5, container_id: '', device: '' },
    ]);
  });

  it('with a step done but not counted (a release killed between two steps) still migrates', () => {
    const db = releaseFile(1);
    db.exec(ddl.SCHEMA_V2 + ddl.SCHEMA_V3);
    expect(migrate(db).map((m) => m.version)[0]).toBe(2);
    expect(schemaOf(db)).toEqual(schemaOf(fresh()));
  });
});

describe('each migration', () => {
  it.each(MIGRATIONS.map((m) => [m.version, m] as const))('v%i run again changes nothing', (version, m) => {
    const db = memory();
    migrate(db, { to: version });
    addRows(db);
    const [schema, rows] = [schemaOf(db), contents(db)];
    m.up(db);
    expect(schemaOf(db)).toEqual(schema);
    expect(contents(db)).toEqual(rows);
  });
});

describe('a file newer than this benchyard', () => {
  it('is refused and left as it is', () => {
    const db = memory();
    db.pragma(`user_version = ${STATE_SCHEMA_VERSION + 1}`);
    expect(() => migrate(db)).toThrow(
      `its schema (v${STATE_SCHEMA_VERSION + 1}) is newer than this benchyard's (v${STATE_SCHEMA_VERSION})`,
    );
    expect(tables(db)).toEqual([]);
    expect(schemaVersion(db)).toBe(STATE_SCHEMA_VERSION + 1);
  });
});

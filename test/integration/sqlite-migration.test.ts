import Database from 'better-sqlite3';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { InfrastructureError } from '../../src/core/index.js';
import { SqliteLedger } from '../../src/ledger/index.js';
import { SqlitePoolStore } from '../../src/pool/index.js';
import { MIGRATIONS, migrate, schemaVersion, STATE_SCHEMA_VERSION } from '../../src/state/index.js';
import { LEDGER_V11 } from '../../src/state/schema-sql.js';
import { DB_FILE, SqliteStore } from '../../src/store/index.js';
import { SCHEMA_V1, SCHEMA_V2, SCHEMA_V3, SCHEMA_VERSION } from '../../src/store/sqlite-schema.js';
import { ROOT } from '../helpers/catalog.js';

describe('SQLite store migrations', () => {
  it('moves v3 samples into the v4 table, where series differing only by device are kept apart', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'by-migrate-'));
    const old = new Database(path.join(dir, DB_FILE));
    old.exec(SCHEMA_V1 + SCHEMA_V2 + SCHEMA_V3);
    old.pragma('user_version = 3');
    old
      .prepare('INSERT INTO metric_samples VALUES (?,?,?,?,?,?,?,?,?,?,?)')
      .run('r', 'c', 1, 'container', 'container.cpu.usage.cores', 0, 1000, 0.5, 'cores', null, 'h');
    old.close();

    const store = new SqliteStore(dir);
    const gpu = {
      runId: 'r',
      cellId: 'c',
      repetition: 1,
      scope: 'gpu' as const,
      name: 'gpu.utilization.pct',
      unit: 'pct',
      timestamp: 2000,
      seq: 0,
      host: 'h',
    };
    store.write([
      { ...gpu, value: 10, device: 'GPU-a' },
      { ...gpu, value: 90, device: 'GPU-b' },
    ]);
    const samples = await store.listSamples({ runId: 'r' });
    await store.close();
    expect(samples.map((s) => [s.name, s.value, s.device])).toEqual([
      ['container.cpu.usage.cores', 0.5, undefined],
      ['gpu.utilization.pct', 10, 'GPU-a'],
      ['gpu.utilization.pct', 90, 'GPU-b'],
    ]);
    const db = new Database(path.join(dir, DB_FILE), { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    db.close();
  });

  it('v5: results made before zones were recorded read back without one; new ones keep it', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'by-migrate-'));
    const old = new Database(path.join(dir, DB_FILE));
    old.exec(SCHEMA_V1 + SCHEMA_V2 + SCHEMA_V3);
    old.pragma('user_version = 3');
    old.close();
    const store = new SqliteStore(dir);
    const base = {
      runId: 'r',
      cellId: 'c',
      benchmark: 'b',
      benchmarkVersion: 1,
      params: {},
      target: 't',
      provider: 'aws',
      machineId: 'aws:i-1',
      instanceType: 'g4dn.xlarge',
      region: 'us-east-1',
      image: 'i',
      imageDigest: 'sha256:0',
      status: 'passed' as const,
      warmup: false,
      scores: [],
      startedAt: '2026-01-01T00:00:00.000Z',
      finishedAt: '2026-01-01T00:00:01.000Z',
      durationMs: 1000,
      metrics: { samples: 0 },
      artifacts: [],
    };
    await store.recordResult({ ...base, repetition: 1 });
    await store.recordResult({ ...base, repetition: 2, zone: 'us-east-1b' });
    const results = await store.listResults({ runId: 'r' });
    await store.close();
    expect(results.map((r) => [r.repetition, r.region, r.zone])).toEqual([
      [1, 'us-east-1', undefined],
      [2, 'us-east-1', 'us-east-1b'],
    ]);
  });
});

/** A v3 store whose folder `gc` had used: the ledger's table, made by the ledger itself. */
function v3WithLedger(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'by-migrate-'));
  const old = new Database(path.join(dir, DB_FILE));
  migrate(old, { to: 3 });
  old.exec(LEDGER_V11);
  old
    .prepare(
      `INSERT INTO ledger_entries (key, provider, kind, session, owner, status, created_at, updated_at, expires_at, details)
       VALUES ('k1', 'aws', 'instance', 's', 'o', 'active', 'c', 'u', '2099-01-01T00:00:00Z', '{}')`,
    )
    .run();
  old.close();
  return dir;
}

const versionOf = (dir: string) => {
  const db = new Database(path.join(dir, DB_FILE), { readonly: true });
  try {
    return schemaVersion(db);
  } finally {
    db.close();
  }
};

describe('one state file, three owners', () => {
  afterEach(() => vi.restoreAllMocks());

  /** How many times each migration ran, by version, while `open` ran. */
  function runsOf(open: () => void): Record<number, number> {
    const ups = MIGRATIONS.map((m) => [m.version, vi.spyOn(m, 'up')] as const);
    open();
    return Object.fromEntries(ups.map(([v, spy]) => [v, spy.mock.calls.length]));
  }
  const each = (n: (v: number) => number) =>
    Object.fromEntries(MIGRATIONS.map((m) => [m.version, n(m.version)]));

  it('store, ledger and pools opened as a run opens them apply each migration once', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'by-migrate-'));
    let store: SqliteStore | undefined;
    const runs = runsOf(() => {
      store = new SqliteStore(dir);
      new SqliteLedger(dir, 's').dispose();
      new SqlitePoolStore(dir).dispose();
    });
    await store!.close();
    expect(runs).toEqual(each(() => 1));
    expect(versionOf(dir)).toBe(STATE_SCHEMA_VERSION);
  });

  it('an old file opened by the pools first: the steps it lacks run once, its ledger entries stay', async () => {
    const dir = v3WithLedger();
    let ledger: SqliteLedger | undefined;
    let store: SqliteStore | undefined;
    const runs = runsOf(() => {
      new SqlitePoolStore(dir).dispose();
      ledger = new SqliteLedger(dir, 's');
      store = new SqliteStore(dir);
    });
    await store!.close();
    expect(runs).toEqual(each((v) => (v > 3 ? 1 : 0)));
    expect(ledger!.open().map((e) => e.key)).toEqual(['k1']);
    ledger!.dispose();
    expect(versionOf(dir)).toBe(STATE_SCHEMA_VERSION);
  });

  describe('processes opening an old file at once', () => {
    const children: ChildProcess[] = [];
    afterEach(() => children.splice(0).forEach((c) => c.kill('SIGKILL')));

    it('migrate it once between them', async () => {
      const dir = v3WithLedger();
      const opener = path.join(ROOT, 'test/helpers/state-opener.ts');
      const outputs = ['store', 'ledger', 'pools', 'store'].map((what) => {
        const child = spawn(process.execPath, ['--import', 'tsx', opener, dir, what], {
          cwd: ROOT,
          stdio: ['pipe', 'pipe', 'inherit'],
        });
        children.push(child);
        const lines = readline.createInterface({ input: child.stdout! });
        const next = () => new Promise<string>((resolve) => lines.once('line', resolve));
        return { child, ready: next(), next };
      });
      await Promise.all(outputs.map((o) => o.ready));
      const done = outputs.map((o) => o.next());
      for (const o of outputs) o.child.stdin!.write('go\n');
      const ran = (await Promise.all(done)).map((line) => (JSON.parse(line) as { ran: number[] }).ran);
      expect(ran.flat().sort((a, b) => a - b)).toEqual(MIGRATIONS.map((m) => m.version).filter((v) => v > 3));
      expect(ran.filter((r) => r.length > 0)).toHaveLength(1);
      expect(versionOf(dir)).toBe(STATE_SCHEMA_VERSION);
    }, 30_000);
  });

  it('a file newer than this benchyard is refused by each of them, untouched', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'by-migrate-'));
    const newer = new Database(path.join(dir, DB_FILE));
    newer.pragma(`user_version = ${STATE_SCHEMA_VERSION + 1}`);
    newer.close();
    for (const [name, open] of [
      ['store', () => new SqliteStore(dir)],
      ['ledger', () => new SqliteLedger(dir, 's')],
      ['pools', () => new SqlitePoolStore(dir)],
    ] as const) {
      expect(open).toThrow(InfrastructureError);
      expect(open).toThrow(
        `opening the ${name} ${path.join(dir, DB_FILE)} failed: its schema (v${STATE_SCHEMA_VERSION + 1}) is newer than this benchyard's (v${STATE_SCHEMA_VERSION})`,
      );
    }
    const db = new Database(path.join(dir, DB_FILE), { readonly: true });
    expect(db.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table'").pluck().get()).toBe(0);
    expect(schemaVersion(db)).toBe(STATE_SCHEMA_VERSION + 1);
    db.close();
  });
});

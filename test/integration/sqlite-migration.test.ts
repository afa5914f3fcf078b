import Database from 'better-sqlite3';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DB_FILE, SqliteStore } from '../../src/store/index.js';
import { SCHEMA_V1, SCHEMA_V2, SCHEMA_V3, SCHEMA_VERSION } from '../../src/store/sqlite-schema.js';

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

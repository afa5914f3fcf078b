import Database from 'better-sqlite3';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compare } from '../../src/analysis/index.js';
import { validateMatrix, YamlSource } from '../../src/config/index.js';
import { InputError, type RepetitionResult, type RunRecord } from '../../src/core/index.js';
import { planMatrix, shardPlan, type Plan } from '../../src/plan/index.js';
import { renderComparison } from '../../src/report/index.js';
import {
  DB_FILE,
  ElasticsearchReader,
  ElasticsearchStore,
  RESULTS_INDEX,
  RUNS_INDEX,
  SqliteStore,
} from '../../src/store/index.js';
import {
  SCHEMA_V1,
  SCHEMA_V2,
  SCHEMA_V3,
  SCHEMA_V4,
  SCHEMA_V5,
  SCHEMA_V6,
  SCHEMA_V7,
  SCHEMA_V8,
  SCHEMA_VERSION,
} from '../../src/store/sqlite-schema.js';
import { builtinCatalog } from '../helpers/catalog.js';
import { ES_URL, esClient } from '../helpers/services.js';

// 4 cells (threads 1, 2, 4, 8), 2 repetitions each: shard 1/2 takes threads 1 and 4, 2/2 threads 2 and 8.
async function wholePlan(): Promise<Plan> {
  const catalog = await builtinCatalog();
  const matrix = validateMatrix(
    YamlSource.parse(
      'm.yaml',
      `name: shards
repetitions: 2
targets: [{ name: here, provider: local }]
benchmarks:
  - benchmark: sysbench-cpu
    params: { threads: [1, 2, 4, 8], time: [1] }
`,
    ),
    catalog,
  );
  return planMatrix(matrix, catalog);
}

/** The record the scheduler starts a shard's part with. */
function started(id: string, part: Plan, startedAt: string): RunRecord {
  return {
    id,
    name: part.matrixName,
    matrixPath: `/agent${part.shard!.index}/m.yaml`,
    status: 'running',
    startedAt,
    cells: part.cells.length,
    repetitions: part.repetitions,
    passed: 0,
    failed: 0,
    shard: part.shard!,
  };
}

function finished(
  run: RunRecord,
  status: RunRecord['status'],
  failed: number,
  finishedAt: string,
): RunRecord {
  return { ...run, status, passed: run.repetitions - failed, failed, finishedAt };
}

/** Every repetition of the part's cells; the part's first `failed` ones failed. */
function results(id: string, part: Plan, failed = 0): RepetitionResult[] {
  let seen = 0;
  return part.cells.flatMap((cell) =>
    [1, 2].map((repetition): RepetitionResult => {
      const n = cell.index * 2 + repetition;
      seen++;
      return {
        runId: id,
        cellId: cell.id,
        repetition,
        benchmark: cell.benchmark,
        benchmarkVersion: cell.benchmarkVersion,
        params: cell.params,
        target: cell.target.name,
        provider: 'local',
        machineId: `local:agent${part.shard!.index}`,
        instanceType: 'local',
        image: cell.image,
        imageDigest: 'sha256:feed',
        status: seen <= failed ? 'failed' : 'passed',
        warmup: false,
        scores: [
          {
            name: 'events_per_second',
            value: 1000 * Number(cell.params.threads) + n,
            unit: 'events/s',
            direction: 'higher',
          },
        ],
        startedAt: `2026-03-01T00:00:${String(n).padStart(2, '0')}.000Z`,
        finishedAt: `2026-03-01T00:00:${String(n).padStart(2, '0')}.500Z`,
        durationMs: 500,
        metrics: { samples: 0 },
        artifacts: [],
      };
    }),
  );
}

describe('a run split in shards, in SQLite (two store handles on one file, as two processes)', () => {
  it('is running until every shard finished, then adds the parts up with the worst status', async () => {
    const whole = await wholePlan();
    const [p1, p2] = [1, 2].map((index) => shardPlan(whole, { index, total: 2 })) as [Plan, Plan];
    const dir = mkdtempSync(path.join(os.tmpdir(), 'by-shards-'));
    const a = new SqliteStore(dir);
    const b = new SqliteStore(dir);
    const id = 'jenkins-bench-7';
    const r1 = started(id, p1, '2026-03-01T00:00:01.000Z');
    const r2 = started(id, p2, '2026-03-01T00:00:00.000Z');
    await a.startRun(r1, p1.cells);
    await b.startRun(r2, p2.cells);
    expect(await a.getRun(id)).toEqual({
      id,
      name: 'shards',
      matrixPath: '/agent2/m.yaml',
      status: 'running',
      startedAt: '2026-03-01T00:00:00.000Z',
      cells: 4,
      repetitions: 8,
      passed: 0,
      failed: 0,
      shards: { total: 2, done: 0 },
    });
    for (const r of results(id, p1)) await a.recordResult(r);
    for (const r of results(id, p2, 1)) await b.recordResult(r);

    await a.finishRun(finished(r1, 'passed', 0, '2026-03-01T00:01:00.000Z'));
    await a.finishRun(finished(r1, 'passed', 0, '2026-03-01T00:01:00.000Z')); // again: counted once
    expect(await b.getRun(id)).toMatchObject({
      status: 'running',
      passed: 4,
      failed: 0,
      shards: { total: 2, done: 1 },
    });
    expect((await b.getRun(id))!.finishedAt).toBeUndefined();

    await b.finishRun(finished(r2, 'failed', 1, '2026-03-01T00:00:50.000Z'));
    const merged = await a.getRun(id);
    expect(merged).toMatchObject({
      status: 'failed',
      startedAt: '2026-03-01T00:00:00.000Z',
      finishedAt: '2026-03-01T00:01:00.000Z',
      cells: 4,
      repetitions: 8,
      passed: 7,
      failed: 1,
      shards: { total: 2, done: 2 },
    });
    expect((await a.listRuns()).filter((r) => r.id === id)).toEqual([merged]);
    // Results of both shards, in matrix order (cells keep their place in the whole matrix).
    const stored = await b.listResults({ runId: id });
    expect(stored.map((r) => r.params.threads)).toEqual([1, 1, 2, 2, 4, 4, 8, 8]);
    await Promise.all([a.close(), b.close()]);

    const db = new Database(path.join(dir, DB_FILE), { readonly: true });
    expect(db.prepare('SELECT shards_total, shards_done, shards_status FROM runs').get()).toEqual({
      shards_total: 2,
      shards_done: 2,
      shards_status: 'failed',
    });
    expect(db.prepare('SELECT shard, status FROM run_shards ORDER BY shard').all()).toEqual([
      { shard: 1, status: 'passed' },
      { shard: 2, status: 'failed' },
    ]);
    expect(db.prepare('SELECT position FROM cells ORDER BY position').pluck().all()).toEqual([0, 1, 2, 3]);
    db.close();
  });

  it('rejects a shard of another shard count or matrix, and a run that is not sharded', async () => {
    const whole = await wholePlan();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'by-shards-'));
    const store = new SqliteStore(dir);
    const part = shardPlan(whole, { index: 1, total: 2 });
    await store.startRun(started('r', part, '2026-03-01T00:00:00.000Z'), part.cells);

    const three = shardPlan(whole, { index: 2, total: 3 });
    const wrongTotal = store.startRun(started('r', three, '2026-03-01T00:00:01.000Z'), three.cells);
    await expect(wrongTotal).rejects.toThrow(InputError);
    await expect(wrongTotal).rejects.toThrow(/run 'r' is matrix 'shards' in 2 shards; shard 2\/3/);
    const other = { ...started('r', shardPlan(whole, { index: 2, total: 2 }), '2026-03-01T00:00:02Z') };
    await expect(store.startRun({ ...other, name: 'other' }, [])).rejects.toThrow(/is matrix 'shards'/);
    await expect(store.finishRun({ ...other, shard: { index: 2, total: 3 } })).rejects.toThrow(InputError);

    await store.startRun({ ...started('plain', part, '2026-03-01T00:00:00Z'), shard: undefined }, []);
    await expect(store.startRun(started('plain', part, '2026-03-01T00:00:01Z'), [])).rejects.toThrow(
      /run 'plain' exists and is not sharded/,
    );
    // Nothing of the rejected shards was stored.
    expect(await store.getRun('r')).toMatchObject({ cells: 2, shards: { total: 2, done: 0 } });
    expect(await store.getRun('plain')).not.toHaveProperty('shards');
    await store.close();
  });

  it('migrates a v8 store: its runs and cells stay as they were, sharded runs can be added', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'by-shards-migrate-'));
    const old = new Database(path.join(dir, DB_FILE));
    old.exec(SCHEMA_V1 + SCHEMA_V2 + SCHEMA_V3);
    old.transaction(() => old.exec(SCHEMA_V4))();
    old.exec(SCHEMA_V5 + SCHEMA_V6);
    old.transaction(() => old.exec(SCHEMA_V7))();
    old.exec(SCHEMA_V8);
    old.pragma('user_version = 8');
    old
      .prepare('INSERT INTO runs VALUES (?,?,?,?,?,?,?,?,?,?)')
      .run(
        'old-run',
        'nightly',
        '/m.yaml',
        'passed',
        '2026-01-01T00:00:00Z',
        '2026-01-01T01:00:00Z',
        3,
        9,
        9,
        0,
      );
    old
      .prepare('INSERT INTO cells VALUES (?,?,?,?,?,?,?,?,?,?,?,?)')
      .run('old-run', 'abc123abc123', 0, 'e', 'sysbench-cpu', 'here', 'local', '{}', 'img', '[]', 3, 1000);
    old.close();

    // Two processes opening the old file at once: it is migrated once.
    const [a, b] = [new SqliteStore(dir), new SqliteStore(dir)];
    expect(await a.getRun('old-run')).toEqual({
      id: 'old-run',
      name: 'nightly',
      matrixPath: '/m.yaml',
      status: 'passed',
      startedAt: '2026-01-01T00:00:00Z',
      finishedAt: '2026-01-01T01:00:00Z',
      cells: 3,
      repetitions: 9,
      passed: 9,
      failed: 0,
    });
    const part = shardPlan(await wholePlan(), { index: 1, total: 1 });
    const run = started('new-run', part, '2026-03-01T00:00:00.000Z');
    await b.startRun(run, part.cells);
    await b.finishRun(finished(run, 'passed', 0, '2026-03-01T00:01:00.000Z'));
    expect(await a.getRun('new-run')).toMatchObject({
      status: 'passed',
      cells: 4,
      shards: { total: 1, done: 1 },
    });
    await Promise.all([a.close(), b.close()]);

    const db = new Database(path.join(dir, DB_FILE), { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(db.prepare("SELECT cell_id FROM cells WHERE run_id = 'old-run'").pluck().all()).toEqual([
      'abc123abc123',
    ]);
    db.close();
  });
});

describe('a run split in shards, in Elasticsearch (two agents writing, one reader)', () => {
  const es = esClient();
  const ids: string[] = [];
  const newId = (what: string) => {
    const id = `shards-${what}-${process.pid}-${Date.now()}`;
    ids.push(id);
    return id;
  };
  afterAll(async () => {
    // The test node has no delete-by-query: the documents are found, then deleted by id.
    const found = await es.search({
      index: `${RUNS_INDEX},${RESULTS_INDEX}`,
      query: { terms: { 'run.id': ids } },
      size: 1000,
      _source: false,
    });
    const hits = found.hits.hits;
    if (hits.length > 0)
      await es.bulk({
        refresh: true,
        operations: hits.map((h) => ({ delete: { _index: h._index, _id: h._id! } })),
      });
    await es.close();
  });
  const refresh = () => es.indices.refresh({ index: `${RUNS_INDEX},${RESULTS_INDEX}` });

  it('merges the shards into one run, the same way as SQLite; compare gives the same table', async () => {
    const whole = await wholePlan();
    const [p1, p2] = [1, 2].map((index) => shardPlan(whole, { index, total: 2 })) as [Plan, Plan];
    const id = newId('merge');
    const [a, b] = await Promise.all([
      ElasticsearchStore.connect({ url: ES_URL }),
      ElasticsearchStore.connect({ url: ES_URL }),
    ]);
    const reader = new ElasticsearchReader(ES_URL);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'by-shards-es-'));
    const sqlite = new SqliteStore(dir);
    const both = (op: (s: SqliteStore | ElasticsearchStore) => Promise<void>, s: ElasticsearchStore) =>
      Promise.all([op(s), op(sqlite)]);
    try {
      const r1 = started(id, p1, '2026-03-01T00:00:01.000Z');
      const r2 = started(id, p2, '2026-03-01T00:00:00.000Z');
      await both((s) => s.startRun(r1, p1.cells), a);
      await both((s) => s.startRun(r2, p2.cells), b);
      for (const r of results(id, p1)) await both((s) => s.recordResult(r), a);
      for (const r of results(id, p2, 1)) await both((s) => s.recordResult(r), b);
      await refresh();
      expect(await reader.getRun(id)).toEqual(await sqlite.getRun(id));
      expect(await reader.getRun(id)).toMatchObject({
        status: 'running',
        cells: 4,
        shards: { total: 2, done: 0 },
      });

      await both((s) => s.finishRun(finished(r1, 'passed', 0, '2026-03-01T00:01:00.000Z')), a);
      await both((s) => s.finishRun(finished(r1, 'passed', 0, '2026-03-01T00:01:00.000Z')), a);
      await refresh();
      expect(await reader.getRun(id)).toMatchObject({ status: 'running', passed: 4, shards: { done: 1 } });
      expect(await reader.getRun(id)).toEqual(await sqlite.getRun(id));

      await both((s) => s.finishRun(finished(r2, 'failed', 1, '2026-03-01T00:00:50.000Z')), b);
      await refresh();
      const merged = await reader.getRun(id);
      expect(merged).toEqual({
        id,
        name: 'shards',
        matrixPath: '/agent2/m.yaml',
        status: 'failed',
        startedAt: '2026-03-01T00:00:00.000Z',
        finishedAt: '2026-03-01T00:01:00.000Z',
        cells: 4,
        repetitions: 8,
        passed: 7,
        failed: 1,
        shards: { total: 2, done: 2 },
      });
      expect(merged).toEqual(await sqlite.getRun(id));
      // listRuns: one run for the two shard documents.
      expect((await reader.listRuns(500)).filter((r) => r.id === id)).toEqual([merged]);

      const table = async (from: SqliteStore | ElasticsearchReader) =>
        renderComparison(compare(await from.listResults({ runId: id }), { by: 'param:threads' }), 'csv');
      expect(await table(reader)).toEqual(await table(sqlite));
      expect((await table(reader)).trim().split('\n')).toHaveLength(1 + 4);
    } finally {
      await Promise.all([a.close(), b.close(), reader.close(), sqlite.close()]);
    }
  });

  it('rejects a shard of another shard count, and shards of a run that is not sharded', async () => {
    const whole = await wholePlan();
    const id = newId('reject');
    const plain = newId('plain');
    const store = await ElasticsearchStore.connect({ url: ES_URL });
    try {
      const part = shardPlan(whole, { index: 1, total: 2 });
      await store.startRun(started(id, part, '2026-03-01T00:00:00.000Z'), part.cells);
      await store.startRun({ ...started(plain, part, '2026-03-01T00:00:00.000Z'), shard: undefined }, []);
      await refresh();
      const three = shardPlan(whole, { index: 3, total: 3 });
      await expect(store.startRun(started(id, three, '2026-03-01T00:00:01Z'), [])).rejects.toThrow(
        /run '.*' is matrix 'shards' in 2 shards; shard 3\/3/,
      );
      await expect(store.startRun(started(plain, part, '2026-03-01T00:00:01Z'), [])).rejects.toThrow(
        InputError,
      );
    } finally {
      await store.close();
    }
    const reader = new ElasticsearchReader(ES_URL);
    await refresh();
    expect(await reader.getRun(id)).toMatchObject({ cells: 2, shards: { total: 2, done: 0 } });
    await reader.close();
  });
});

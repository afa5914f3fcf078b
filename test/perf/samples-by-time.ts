/**
 * What the index of metric samples by time (SQLite v10, for the web UI's live views)
 * costs the writer and saves the reader: N samples written through SqliteStore.write (as a
 * run stores them), then the newest 1 % read with listSamples({ since }) as the live
 * stream does; once with the index and once with it dropped. Prints µs per written sample
 * and ms per read; asserts nothing. `npx tsx test/perf/samples-by-time.ts [N]` (default
 * 300000, ~20 s).
 */
import Database from 'better-sqlite3';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { MetricSample } from '../../src/core/index.js';
import { DB_FILE, SqliteStore } from '../../src/store/index.js';
import { printAccounted } from './processes.js';

const N = Number(process.argv[2] ?? 300_000);
const SERIES = 30;
const T0 = Date.UTC(2026, 10, 28);

function samples(runId: string, from: number, count: number): MetricSample[] {
  return Array.from({ length: count }, (_, j) => {
    const k = from + j;
    return {
      runId,
      cellId: 'fc7868ecea38',
      repetition: 1 + (Math.floor(k / SERIES / 1000) % 5),
      scope: 'container',
      name: `container.metric.${k % SERIES}`,
      unit: 'cores',
      value: Math.random(),
      timestamp: T0 + Math.floor(k / SERIES) * 100,
      seq: Math.floor(k / SERIES),
      host: 'vm',
      containerId: 'abcdef0123456789',
    };
  });
}

async function measure(indexed: boolean): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'by-perf-idx-'));
  try {
    await new SqliteStore(dir).close(); // create the schema, then drop the index where asked
    if (!indexed) {
      const db = new Database(path.join(dir, DB_FILE));
      db.exec('DROP INDEX metric_samples_by_time');
      db.close();
    }
    const store = new SqliteStore(dir);
    const runId = '20261128-155614-7c1d56';
    const t0 = process.hrtime.bigint();
    for (let k = 0; k < N; k += 500) store.write(samples(runId, k, Math.min(500, N - k)));
    await store.flush();
    const writeUs = Number(process.hrtime.bigint() - t0) / 1000 / N;
    const since = T0 + Math.floor((N * 0.99) / SERIES) * 100;
    const t1 = process.hrtime.bigint();
    let read = 0;
    for (let i = 0; i < 20; i++) read = (await store.listSamples({ runId, since })).length;
    const readMs = Number(process.hrtime.bigint() - t1) / 1e6 / 20;
    await store.close();
    console.log(
      `${indexed ? 'with index   ' : 'without index'}: write ${writeUs.toFixed(2)} µs/sample; read of the newest ${read} samples ${readMs.toFixed(2)} ms`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

console.log(`${N} samples, ${SERIES} series, one run`);
printAccounted(
  [],
  [],
  `write and read times are this process's (pid ${process.pid}) wall time, SQLite in-process`,
);
for (const indexed of [false, true, false, true]) await measure(indexed);

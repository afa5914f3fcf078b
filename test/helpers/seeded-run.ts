/**
 * A finished run written straight into a state folder through SqliteStore, for e2e tests of
 * what reads results (results, compare, report, serve) when running benchmarks here cannot
 * give the figures wanted (no GPU to throttle, no readable energy source). Every repetition
 * counts as passed; the run starts at `seedTime(0)` and ends a minute later.
 */
import { mkdirSync } from 'node:fs';
import type { MatrixCell, RepetitionResult, RunRecord } from '../../src/core/index.js';
import { SqliteStore } from '../../src/store/index.js';

const T0 = Date.parse('2026-12-05T00:00:00.000Z');

/** The ISO time `ms` after the seeded run started. */
export function seedTime(ms: number): string {
  return new Date(T0 + ms).toISOString();
}

/** A local cell of 5 repetitions with only what a stored run keeps of it. */
export function seededCell(c: {
  id: string;
  index: number;
  benchmark: string;
  target: string;
  params?: Record<string, unknown>;
}): MatrixCell {
  return {
    id: c.id,
    index: c.index,
    entry: 'e',
    benchmark: c.benchmark,
    benchmarkVersion: 1,
    target: { name: c.target, provider: 'local', options: {} },
    params: c.params ?? {},
    image: 'benchyard/bench-tools:1',
    argv: ['true'],
    repetitions: 5,
    timeoutMs: 60_000,
  } as unknown as MatrixCell;
}

/** Writes run `id` with its cells and results into `state` (created), as a run that passed. */
export async function seedRun(
  state: string,
  run: { id: string; name: string },
  cells: readonly MatrixCell[],
  results: readonly RepetitionResult[],
): Promise<void> {
  const record = (status: RunRecord['status']): RunRecord => ({
    ...run,
    matrixPath: '/m.yaml',
    status,
    startedAt: seedTime(0),
    ...(status === 'running' ? {} : { finishedAt: seedTime(60_000) }),
    cells: cells.length,
    repetitions: results.length,
    passed: status === 'running' ? 0 : results.length,
    failed: 0,
  });
  mkdirSync(state, { recursive: true });
  const store = new SqliteStore(state);
  await store.startRun(record('running'), cells);
  for (const r of results) await store.recordResult(r);
  await store.finishRun(record('passed'));
  await store.close();
}

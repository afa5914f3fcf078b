/**
 * A sharded run as the sum of its parts. Every shard (`run --shard i/n`) stores its own
 * part of the run (its cells' counts, its status) and never touches another's, so parts
 * written by concurrent agents cannot lose each other's updates; the run is what this
 * pure function makes of the parts, the same way for every store.
 */
import type { RunRecord, RunStatus, Shard } from '../core/index.js';

/** One shard's part of a run, as that shard wrote it. */
export type ShardPart = RunRecord & { shard: Shard };

/** Higher is worse; `running` is not a final status and never wins. */
const SEVERITY: Record<RunStatus, number> = { running: 0, passed: 1, cancelled: 2, failed: 3, error: 4 };

/** The worse of two final statuses: error > failed > cancelled > passed. */
export function worseStatus(a: RunStatus, b: RunStatus): RunStatus {
  return SEVERITY[b] > SEVERITY[a] ? b : a;
}

/** The worst status of the parts that have finished; `undefined` while none has. */
export function finishedStatus(parts: readonly ShardPart[]): RunStatus | undefined {
  const finished = parts.filter((p) => p.status !== 'running');
  return finished.length === 0 ? undefined : finished.map((p) => p.status).reduce(worseStatus);
}

/**
 * The run its parts make: counts are sums (cells are disjoint across shards), it started
 * when its first part did, and it is `running` until every shard has finished; then its
 * status is the worst of theirs and it finished when its last part did. A shard stored
 * twice (a retried CI stage) is one part: stores keep one per shard index.
 */
export function mergeShards(parts: readonly ShardPart[]): RunRecord {
  const ordered = [...parts].sort(
    (a, b) => a.startedAt.localeCompare(b.startedAt) || a.shard.index - b.shard.index,
  );
  const first = ordered[0];
  if (!first) throw new Error('a sharded run needs at least one part');
  const finished = ordered.filter((p) => p.status !== 'running');
  const done = new Set(finished.map((p) => p.shard.index)).size;
  const total = first.shard.total;
  const complete = done >= total;
  const finishedAt = finished
    .map((p) => p.finishedAt)
    .filter((t): t is string => t !== undefined)
    .sort()
    .at(-1);
  const sum = (k: 'cells' | 'repetitions' | 'passed' | 'failed') => ordered.reduce((n, p) => n + p[k], 0);
  return {
    id: first.id,
    name: first.name,
    matrixPath: first.matrixPath,
    status: complete ? (finishedStatus(ordered) ?? 'passed') : 'running',
    startedAt: first.startedAt,
    ...(complete && finishedAt ? { finishedAt } : {}),
    cells: sum('cells'),
    repetitions: sum('repetitions'),
    passed: sum('passed'),
    failed: sum('failed'),
    shards: { total, done },
    ...(first.tags?.length ? { tags: first.tags } : {}),
  };
}

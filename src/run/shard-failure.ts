/**
 * A shard that fails before its part of the run is stored stores an `error` part, so the
 * shared run does not wait for it for ever.
 */
import type { ResultStore, RunRecord } from '../core/index.js';
import type { Plan } from '../plan/index.js';
import { runRecord } from '../schedule/index.js';

export async function recordFailedShard(
  store: Pick<ResultStore, 'startRun' | 'finishRun'>,
  plan: Plan,
  runId: string,
  at: number,
  tags: readonly string[],
): Promise<void> {
  if (!plan.shard) return;
  const started = runRecord(plan, { runId, at, tags });
  const part: RunRecord = { ...started, status: 'error', finishedAt: started.startedAt };
  await store.startRun(part, []);
  await store.finishRun(part);
}

/** The record of a run (or of one shard of it), as it is stored when it starts. */
import type { RunRecord } from '../core/index.js';
import type { Plan } from '../plan/index.js';

export function runRecord(
  plan: Plan,
  opts: { runId: string; at: number; tags?: readonly string[] | undefined },
): RunRecord {
  return {
    id: opts.runId,
    name: plan.matrixName,
    matrixPath: plan.matrixFile,
    status: 'running',
    startedAt: new Date(opts.at).toISOString(),
    cells: plan.cells.length,
    repetitions: plan.repetitions,
    passed: 0,
    failed: 0,
    // One shard of a run split among agents: the stores add its part to the others'.
    ...(plan.shard ? { shard: plan.shard } : {}),
    ...(opts.tags?.length ? { tags: [...opts.tags] } : {}),
  };
}

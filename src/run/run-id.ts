/**
 * Which run a process writes to, checked before anything is acquired: shards of one run
 * (parallel CI agents) share its id and add their parts to it; a run that is not sharded
 * never writes over a stored one.
 */
import { InputError, type Shard } from '../core/index.js';
import { shardPlan, type Plan } from '../plan/index.js';
import type { StoredRuns } from './ports.js';

/** A place runs are stored, as messages name it (`'<state>'`, the Elasticsearch URL), opened when asked. */
export interface RunPlace {
  where: string;
  /** undefined: nothing is stored there (yet). */
  open(): StoredRuns | undefined;
}

/**
 * Throws an InputError when the id is taken in one of the places: by any run, for a run
 * that is not sharded; by a run of another matrix or shard count (or one not sharded), for
 * a shard. A shard that ran before runs again, replacing its part.
 */
export async function checkRunId(
  places: readonly RunPlace[],
  runId: string,
  shard: Shard | undefined,
  matrixName: string,
): Promise<void> {
  for (const place of places) {
    const reader = place.open();
    if (!reader) continue;
    try {
      const run = await reader.getRun(runId);
      if (!run) continue;
      if (!shard) throw new InputError(`--run-id: run '${runId}' exists in ${place.where}`, { runId });
      if (!run.shards)
        throw new InputError(`--run-id: run '${runId}' exists in ${place.where} and is not sharded`, {
          runId,
        });
      if (run.name !== matrixName || run.shards.total !== shard.total)
        throw new InputError(
          `--run-id: run '${runId}' in ${place.where} is matrix '${run.name}' in ${run.shards.total} shards; this is shard ${shard.index}/${shard.total} of '${matrixName}'`,
          { runId },
        );
    } finally {
      await reader.close();
    }
  }
}

/** The plan, or the shard's part of it, with what a user is told about the part. */
export function shardPart(plan: Plan, shard: Shard | undefined): { plan: Plan; notices: string[] } {
  if (!shard) return { plan, notices: [] };
  const part = shardPlan(plan, shard);
  const notices = [`shard ${shard.index}/${shard.total}: ${part.cells.length} of ${plan.cells.length} cells`];
  if (part.cells.length === 0)
    notices.push(
      `note: shard ${shard.index}/${shard.total} has no cells (the matrix has ${plan.cells.length}); its empty part is recorded so the run can complete`,
    );
  return { plan: part, notices };
}

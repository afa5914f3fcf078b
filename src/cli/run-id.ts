/**
 * `run --run-id ID` and `run --shard i/n`: which run a process writes to, checked before
 * anything is acquired. Shards of one run (parallel CI agents) share its id and add their
 * parts to it; a run that is not sharded never writes over a stored one.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { InputError, type ResultReader, type Shard } from '../core/index.js';
import { parseShard, shardPlan, type Plan } from '../plan/index.js';
import { DB_FILE, ElasticsearchReader, SqliteStore } from '../store/index.js';

/** What a run id may be: it names files and documents (`<id>#<shard>` in Elasticsearch). */
export const RUN_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Which run this process writes: its id (default: a new one) and its shard (default: all cells). */
export interface RunAs {
  runId?: string;
  shard?: Shard;
}

/** The `--run-id` and `--shard` flags, validated together. */
export function parseRunAs(opts: { runId?: string; shard?: string }): RunAs {
  if (opts.runId !== undefined && !RUN_ID_PATTERN.test(opts.runId))
    throw new InputError(
      `--run-id '${opts.runId}': expected 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit`,
    );
  const shard = opts.shard !== undefined ? parseShard(opts.shard) : undefined;
  if (shard && opts.runId === undefined)
    throw new InputError(
      `--shard ${opts.shard} needs --run-id: every shard must write to the same run (in Jenkins: --run-id "$BUILD_TAG")`,
    );
  return { ...(opts.runId !== undefined ? { runId: opts.runId } : {}), ...(shard ? { shard } : {}) };
}

/**
 * Throws an InputError when the id is taken in the embedded store or Elasticsearch: by any
 * run, for a run that is not sharded; by a run of another matrix or shard count (or one
 * not sharded), for a shard. A shard that ran before runs again, replacing its part.
 */
export async function checkRunId(
  where: { state: string; esUrl?: string },
  runId: string,
  shard: Shard | undefined,
  matrixName: string,
): Promise<void> {
  const readers: [string, () => ResultReader & { close(): Promise<void> }][] = [];
  if (existsSync(path.join(where.state, DB_FILE)))
    readers.push([`'${where.state}'`, () => new SqliteStore(where.state)]);
  if (where.esUrl) readers.push([where.esUrl, () => new ElasticsearchReader(where.esUrl!)]);
  for (const [place, open] of readers) {
    const reader = open();
    try {
      const run = await reader.getRun(runId);
      if (!run) continue;
      if (!shard) throw new InputError(`--run-id: run '${runId}' exists in ${place}`, { runId });
      if (!run.shards)
        throw new InputError(`--run-id: run '${runId}' exists in ${place} and is not sharded`, { runId });
      if (run.name !== matrixName || run.shards.total !== shard.total)
        throw new InputError(
          `--run-id: run '${runId}' in ${place} is matrix '${run.name}' in ${run.shards.total} shards; this is shard ${shard.index}/${shard.total} of '${matrixName}'`,
          { runId },
        );
    } finally {
      await reader.close();
    }
  }
}

/** The plan, or the shard's part of it, said on stderr: `shard 2/3: 4 of 11 cells`. */
export function takeShard(plan: Plan, shard: Shard | undefined, write: (text: string) => void): Plan {
  if (!shard) return plan;
  const part = shardPlan(plan, shard);
  write(`shard ${shard.index}/${shard.total}: ${part.cells.length} of ${plan.cells.length} cells\n`);
  if (part.cells.length === 0)
    write(
      `note: shard ${shard.index}/${shard.total} has no cells (the matrix has ${plan.cells.length}); its empty part is recorded so the run can complete\n`,
    );
  return part;
}

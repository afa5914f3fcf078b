/**
 * `run --run-id ID` and `run --shard i/n`: which run a process writes to, as the user gave
 * it (src/run checks the id against the stores before anything is acquired).
 */
import { InputError, type Shard } from '../core/index.js';
import { parseShard } from '../plan/index.js';

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

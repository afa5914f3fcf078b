/**
 * Splitting a plan among CI agents: pure. Cell k of the plan (0-based, in plan order)
 * belongs to shard (k mod n) + 1, so the same matrix always splits the same way, and
 * shards differ by at most one cell. Round-robin rather than contiguous blocks, so an
 * entry's cells (often of similar cost) spread over all shards.
 */
import { InputError, plannedRepetitions, type Shard } from '../core/index.js';
import type { Plan } from './plan.js';

/** Most shards a matrix can be split into. */
export const MAX_SHARDS = 1000;

/** `'2/3'` → `{ index: 2, total: 3 }`; anything else is an InputError saying what is expected. */
export function parseShard(text: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m)
    throw new InputError(`--shard '${text}': expected i/n, e.g. 2/3 (the 2nd of 3 shards)`, { shard: text });
  const shard = { index: Number(m[1]), total: Number(m[2]) };
  if (shard.total < 1 || shard.total > MAX_SHARDS)
    throw new InputError(`--shard '${text}': the number of shards must be 1 to ${MAX_SHARDS}`, {
      shard: text,
    });
  if (shard.index < 1 || shard.index > shard.total)
    throw new InputError(`--shard '${text}': the shard must be 1 to ${shard.total}`, { shard: text });
  return shard;
}

/**
 * The plan with only the shard's cells. Cells keep their `index` (their place in the
 * whole matrix), so parts stored by different shards sort in matrix order.
 */
export function shardPlan(plan: Plan, shard: Shard): Plan {
  const cells = plan.cells.filter((_, k) => k % shard.total === shard.index - 1);
  return {
    ...plan,
    cells,
    repetitions: cells.reduce((n, c) => n + plannedRepetitions(c), 0),
    shard: { index: shard.index, total: shard.total },
  };
}

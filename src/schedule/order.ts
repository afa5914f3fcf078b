/**
 * The order a target's repetitions are handed out in (pure). `blocked`: one piece of work
 * per cell, its repetitions back to back. `interleaved`: one piece per repetition, in rounds
 * (round r holds repetition r of every cell that has one), each round shuffled anew.
 * `random`: one piece per repetition, all cells' repetitions in one shuffled sequence in
 * which each cell's own keep their order (so a cell's warmups still come first).
 *
 * Shuffles come from a seeded generator (the run id by default), so a run's order can be
 * reproduced and is recorded by what it ran.
 */
import { createHash } from 'node:crypto';
import type { RunOrder } from '../core/index.js';

/** Repetitions `from`..`to` (1-based, inclusive) of the cell at `cell` in the target's list. */
export interface Slice {
  cell: number;
  from: number;
  to: number;
}

/** The pieces of work for cells with `planned[i]` repetitions each, in the order to hand them out. */
export function orderWork(planned: readonly number[], order: RunOrder, seed: string): Slice[] {
  if (order === 'blocked') return planned.map((n, cell) => ({ cell, from: 1, to: n }));
  const random = seededRandom(seed);
  if (order === 'interleaved') {
    const out: Slice[] = [];
    const rounds = Math.max(0, ...planned);
    for (let r = 1; r <= rounds; r++) {
      const cells = shuffle(
        planned.flatMap((n, cell) => (r <= n ? [cell] : [])),
        random,
      );
      for (const cell of cells) out.push({ cell, from: r, to: r });
    }
    return out;
  }
  // One label per repetition, shuffled; each cell's repetitions are numbered in sequence.
  const labels = shuffle(
    planned.flatMap((n, cell) => Array.from({ length: n }, () => cell)),
    random,
  );
  const next = planned.map(() => 1);
  return labels.map((cell) => {
    const rep = next[cell]!++;
    return { cell, from: rep, to: rep };
  });
}

/** Fisher-Yates with the given generator; a new array. */
function shuffle<T>(items: readonly T[], random: () => number): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** mulberry32 seeded from sha256 of `seed`: small, fast, and the same everywhere. */
export function seededRandom(seed: string): () => number {
  let s = createHash('sha256').update(seed).digest().readUInt32LE(0);
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

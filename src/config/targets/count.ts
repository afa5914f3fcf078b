/**
 * `count` of a cloud target: a fixed number of machines, or `{ min, max }` for an elastic
 * target that starts with `min`, grows to `max` while cells wait, and gives back idle
 * machines above `min` (see `idleRelease`).
 */
import { z } from 'zod';

export function machineCount(limit: number) {
  return z
    .union(
      [
        z.int().min(1).max(limit),
        z
          .strictObject({
            min: z.int().min(0).max(limit).default(1).describe('Machines the run starts with (at least one)'),
            max: z.int().min(1).max(limit).describe('Most machines at once, added while cells wait'),
          })
          .refine((c) => c.min <= c.max, { message: 'min must not exceed max', path: ['min'] }),
      ],
      { error: `a number of machines (1-${limit}) or { min, max }` },
    )
    .default(1)
    .describe('Machines to use: a number, or { min, max } to grow while cells wait and shrink when idle');
}

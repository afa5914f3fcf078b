/** Schema of `benchmarks/<name>/benchmark.yaml`. */
import { z } from 'zod';
import { duration, NAME } from './matrix-schema.js';

const paramSpec = z
  .strictObject({
    type: z.enum(['integer', 'number', 'string', 'boolean']),
    default: z.union([z.string(), z.number(), z.boolean()]).optional(),
    min: z.number().optional(),
    max: z.number().optional(),
    enum: z.array(z.string()).min(1).optional(),
    unit: z.string().optional(),
    description: z.string().optional(),
  })
  .refine((p) => p.min === undefined || p.max === undefined || p.min <= p.max, {
    message: 'min is above max',
  });

const scoreSpec = z
  .strictObject({
    name: z.string().regex(/^[a-z][a-z0-9_]*$/, 'score names are snake_case'),
    unit: z.string().min(1),
    direction: z.enum(['higher', 'lower']),
    from: z.enum(['stdout', 'stderr']).default('stdout'),
    regex: z
      .string()
      .refine(
        (r) => {
          try {
            return new RegExp(r).source.length > 0;
          } catch {
            return false;
          }
        },
        { message: 'not a valid regular expression' },
      )
      .optional(),
    match: z.enum(['first', 'last']).default('first'),
    json: z.string().startsWith('$').optional(),
    scale: z.number().positive().optional(),
  })
  .refine((s) => (s.regex === undefined) !== (s.json === undefined), {
    message: "a score needs exactly one of 'regex' or 'json'",
  });

export const benchmarkSchema = z.strictObject({
  name: NAME,
  version: z.int().min(1).default(1),
  description: z.string().default(''),
  image: z.string().min(1),
  command: z.array(z.string()).min(1),
  params: z.record(z.string().regex(/^[a-z][a-z0-9_]*$/), paramSpec).default({}),
  scores: z.array(scoreSpec).min(1),
  timeout: duration(1000, 7 * 24 * 3_600_000).default(600_000),
  network: z.enum(['none', 'bridge']).default('bridge'),
});

/** Schema of `benchmarks/<name>/benchmark.yaml`. */
import { z } from 'zod';
import { duration, NAME } from './common-schema.js';
import { requiresSchema } from './requires-schema.js';

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

/** An absolute path inside the container's filesystem: no `..`, no host paths. */
export const containerPath = z
  .string()
  .regex(/^\/(?!.*(^|\/)\.\.(\/|$))[^\0]*$/, "must be an absolute path inside the container, without '..'");

const scoreSpec = z
  .strictObject({
    name: z.string().regex(/^[a-z][a-z0-9_]*$/, 'score names are snake_case'),
    unit: z.string().min(1),
    direction: z.enum(['higher', 'lower']),
    from: z
      .union([z.enum(['stdout', 'stderr']), containerPath])
      .default('stdout')
      .describe('stdout, stderr, or a file the container writes (absolute path, copied out after it exits)'),
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
    match: z.enum(['first', 'last', 'all']).default('first'),
    reduce: z.enum(['mean', 'median', 'min', 'max', 'sum']).default('mean'),
    json: z
      .string()
      .refine((p) => isJsonPath(p), { message: "not a JSONPath (e.g. '$.latency.p99' or \"$.a['b.c'][0]\")" })
      .optional(),
    metric: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]+$/)
      .optional()
      .describe('name in `@benchyard metric=<name> value=<n>` lines'),
    scale: z.number().positive().optional(),
  })
  .refine((s) => [s.regex, s.json, s.metric].filter((x) => x !== undefined).length === 1, {
    message: "a score needs exactly one of 'regex', 'json' or 'metric'",
  });

/** JSONPath as benchyard accepts it: `$` then `.key`, `['key']`, `["key"]` or `[index]` steps. */
function isJsonPath(p: string): boolean {
  return /^\$(\.[A-Za-z_][A-Za-z0-9_-]*|\[\d+\]|\['[^']*'\]|\["[^"]*"\])*$/.test(p);
}

export const benchmarkSchema = z
  .strictObject({
    name: NAME,
    version: z.int().min(1).default(1),
    description: z.string().default(''),
    image: z
      .string()
      .min(1)
      .optional()
      .describe('Image to run; with `build`, the tag given to the built image'),
    build: z.string().min(1).optional().describe('Folder with a Dockerfile, relative to this file'),
    artifacts: z
      .array(containerPath)
      .default([])
      .describe('Files the container writes, kept beside the results'),
    command: z.array(z.string()).min(1),
    params: z.record(z.string().regex(/^[a-z][a-z0-9_]*$/), paramSpec).default({}),
    scores: z.array(scoreSpec).default([]).describe('Empty: the exit code alone says pass or fail'),
    timeout: duration(1000, 7 * 24 * 3_600_000).default(600_000),
    network: z.enum(['none', 'bridge']).default('bridge'),
    requires: requiresSchema
      .default({ devices: [], deviceCgroupRules: [], privileged: false })
      .describe('GPUs, FPGA cards and device nodes the benchmark needs'),
  })
  .refine((d) => d.image !== undefined || d.build !== undefined, {
    message: "a benchmark needs 'image', 'build', or both",
  });

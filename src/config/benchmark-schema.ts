/** Schema of `benchmarks/<name>/benchmark.yaml`. */
import { RE2JS } from 're2js';
import { z } from 'zod';
import { ARTIFACT_LIMITS, DEFAULT_CONTAINER_POLICY, parseJsonPath } from '../core/index.js';
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

/**
 * A file inside the container, written plainly: `/` then names, no `.`, `..` or empty
 * names, no trailing `/` (`/.` or `/out/` name folders, and `//x` a second name for `/x`).
 */
export const containerFilePath = containerPath.refine(
  (p) =>
    p.length > 1 &&
    p
      .slice(1)
      .split('/')
      .every((name) => name !== '' && name !== '.' && name !== '..' && Buffer.byteLength(name) <= 255),
  {
    message:
      "must name a file: '/' then names (of 255 bytes at most), without '.', '..', '//' or a trailing '/'",
  },
);

const scoreSpec = z
  .strictObject({
    name: z.string().regex(/^[a-z][a-z0-9_]*$/, 'score names are snake_case'),
    unit: z.string().min(1),
    direction: z.enum(['higher', 'lower']),
    from: z
      .union([z.enum(['stdout', 'stderr']), containerFilePath])
      .default('stdout')
      .describe('stdout, stderr, or a file the container writes (absolute path, copied out after it exits)'),
    regex: z
      .string()
      .min(1)
      .refine(isScoreRegex, { message: 'not a valid regular expression' })
      .optional()
      .describe(
        'RE2 syntax runs in linear time; otherwise JavaScript syntax, off the main thread with a deadline',
      ),
    match: z.enum(['first', 'last', 'all']).default('first'),
    reduce: z.enum(['mean', 'median', 'min', 'max', 'sum']).default('mean'),
    json: z
      .string()
      .superRefine((p, ctx) => {
        const parsed = parseJsonPath(p);
        if ('error' in parsed)
          ctx.addIssue({
            code: 'custom',
            message: `not a JSONPath (e.g. '$.latency.p99' or "$.a['b.c'][0]"): ${parsed.error}`,
          });
      })
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

/**
 * A pattern one of the score engines takes: RE2 syntax (linear time), else JavaScript's
 * (engine/score-regex picks the engine at run time; this only says whether one can).
 */
function isScoreRegex(r: string): boolean {
  try {
    RE2JS.compile(r, RE2JS.MULTILINE);
    return true;
  } catch {
    // not RE2 syntax
  }
  try {
    new RegExp(r, 'm');
    return true;
  } catch {
    return false;
  }
}

/** How the container is confined; every field has a safe default. */
const containerPolicy = z
  .strictObject({
    pidsLimit: z
      .union([z.int().min(16).max(4_194_304), z.literal('unlimited')])
      .default(DEFAULT_CONTAINER_POLICY.pidsLimit)
      .describe(
        'Most processes and threads at once in the container (a fork bomb stops there), or `unlimited`',
      ),
    noNewPrivileges: z
      .boolean()
      .default(DEFAULT_CONTAINER_POLICY.noNewPrivileges)
      .describe('Processes cannot gain privileges through setuid binaries or file capabilities'),
  })
  .default({ ...DEFAULT_CONTAINER_POLICY });

/** `primary:` on a benchmark or a matrix entry. */
export const PRIMARY_SCORE = z
  .string()
  .regex(/^[a-z][a-z0-9_]*$/, 'score names are snake_case')
  .describe(
    "The score comparisons decide on: tested alone at the comparison's α, the other scores Bonferroni-corrected among themselves (default: the first score)",
  );

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
      .array(containerFilePath)
      .max(
        ARTIFACT_LIMITS.files,
        `at most ${ARTIFACT_LIMITS.files} artifacts (pack more files into one archive)`,
      )
      .refine((paths) => new Set(paths).size === paths.length, { message: 'an artifact is declared twice' })
      .default([])
      .describe(
        `Files the container writes, kept beside the results (at most ${ARTIFACT_LIMITS.files}; ${ARTIFACT_LIMITS.bytesPerFile / 2 ** 20} MiB each and ${ARTIFACT_LIMITS.bytes / 2 ** 30} GiB per repetition are kept)`,
      ),
    command: z.array(z.string()).min(1),
    params: z.record(z.string().regex(/^[a-z][a-z0-9_]*$/), paramSpec).default({}),
    scores: z.array(scoreSpec).default([]).describe('Empty: the exit code alone says pass or fail'),
    primary: PRIMARY_SCORE.optional(),
    timeout: duration(1000, 7 * 24 * 3_600_000).default(600_000),
    network: z.enum(['none', 'bridge']).default('bridge'),
    container: containerPolicy.describe(
      'How the container is confined: a pids limit and no-new-privileges by default',
    ),
    requires: requiresSchema
      .default({ devices: [], deviceCgroupRules: [], privileged: false })
      .describe('GPUs, FPGA cards and device nodes the benchmark needs'),
  })
  .refine((d) => d.image !== undefined || d.build !== undefined, {
    message: "a benchmark needs 'image', 'build', or both",
  })
  .refine((d) => d.primary === undefined || d.scores.some((s) => s.name === d.primary), {
    message: "primary must name one of the benchmark's scores",
    path: ['primary'],
  });

/**
 * The matrix file, v1: structure only. Checks that need the benchmark catalog (known
 * benchmarks, declared params, ranges) live in `matrix-rules.ts`.
 */
import { z } from 'zod';
import { benchmarkSchema, PRIMARY_SCORE } from './benchmark-schema.js';
import { eventsConfig } from './events-schema.js';
import { healthConfig } from './health-schema.js';
import { entryExpect, targetExpect } from './expect-schema.js';
import { requiresSchema } from './requires-schema.js';
import { byteSize, duration, NAME } from './common-schema.js';
import { awsTarget } from './targets/aws.js';
import { sshHostsTarget } from './targets/ssh-hosts.js';
import { softlayerTarget } from './targets/softlayer.js';
import { slurmTarget } from './targets/slurm.js';
import { kubernetesTarget } from './targets/kubernetes.js';

/** `adaptive: true` or its settings: extend a cell's repetitions until its results are steady. */
const adaptive = z
  .union([
    z.boolean(),
    z.strictObject({
      cov: z
        .union([z.number(), z.string().regex(/^\d+(\.\d+)?%$/, "a percentage such as '2.5%'")])
        .transform((v) => (typeof v === 'number' ? v : Number(v.slice(0, -1))))
        .default(2.5)
        .describe('Stop once the first score varies less than this (coefficient of variation, %)'),
      max: z.int().min(2).max(1000).default(10).describe('Never more measured repetitions than this'),
      budget: duration(1000, 7 * 24 * 3_600_000)
        .default(600_000)
        .describe('No extension past this time per cell'),
    }),
  ])
  .transform((v) => (v === false ? undefined : v === true ? { cov: 2.5, max: 10, budget: 600_000 } : v));

const scalar = z.union([z.string(), z.number(), z.boolean()], {
  error: 'a parameter value must be a string, number or boolean (or a list of them)',
});

export const PROVIDERS = ['local', 'ssh', 'aws', 'softlayer', 'slurm', 'kubernetes'] as const;

/** A registry address as Docker writes it in an image reference: HOST:PORT, no scheme. */
const REGISTRY = z
  .string()
  .regex(/^([a-z0-9.-]+|\[[0-9a-f:]+\])(:\d{1,5})?$/i, 'a registry address HOST:PORT (no scheme, no path)');

const targetBase = {
  name: NAME,
  registry: REGISTRY.optional().describe(
    "The matrix's images.registry as this target's machines reach it (default: the same address)",
  ),
  idleRelease: duration(0, 7 * 24 * 3_600_000)
    .optional()
    .describe(
      'Release a machine above the minimum once it had no cell to run for this long (default 60s); every machine is released as soon as its target has nothing left',
    ),
  shareEngine: z
    .boolean()
    .optional()
    .describe(
      "Allow this target's machines to be the same Docker engine as another target's (or as each other): they then run as one machine, leased once, `concurrency` cells at once in all. Default: the matrix's shareEngine (false): two names for one engine are refused",
    ),
  hourlyPrice: z
    .number()
    .nonnegative()
    .max(10_000)
    .optional()
    .describe(
      "USD per machine-hour recorded on this target's results: the amortized rate of bare-metal hosts or this machine; on cloud targets it replaces the price table's",
    ),
  expect: targetExpect.optional(),
};

/**
 * A target: where cells run. The provider picks the shape of the rest; each provider's
 * options live in `targets/<provider>.ts`.
 */
const target = z.discriminatedUnion(
  'provider',
  [
    z.strictObject({
      ...targetBase,
      provider: z.literal('local'),
      docker: z
        .strictObject({
          socketPath: z
            .string()
            .min(1)
            .describe('Docker engine socket (default /var/run/docker.sock or DOCKER_HOST)'),
        })
        .optional(),
    }),
    sshHostsTarget.extend({ ...targetBase, provider: z.literal('ssh') }),
    awsTarget.extend({ ...targetBase, provider: z.literal('aws') }),
    softlayerTarget.extend({ ...targetBase, provider: z.literal('softlayer') }),
    slurmTarget.extend({ ...targetBase, provider: z.literal('slurm') }),
    kubernetesTarget.extend({ ...targetBase, provider: z.literal('kubernetes') }),
  ],
  {
    error: (iss) =>
      iss.code === 'invalid_union' && iss.note === 'No matching discriminator'
        ? (iss.input as { provider?: unknown } | undefined)?.provider === undefined
          ? `a target needs 'provider' (one of: ${PROVIDERS.join(', ')})`
          : `unsupported provider ${JSON.stringify((iss.input as { provider?: unknown }).provider)} (supported: ${PROVIDERS.join(', ')})`
        : undefined,
  },
);

const benchmarkEntry = z.strictObject({
  benchmark: z
    .union([z.string().min(1), benchmarkSchema])
    .describe(
      'A built-in benchmark name, or an inline definition (the schema of benchmarks/<name>/benchmark.yaml)',
    ),
  name: NAME.optional().describe('Label for this entry; defaults to the benchmark name'),
  params: z
    .record(z.string(), z.union([scalar, z.array(scalar)]))
    .optional()
    .describe('A list is an axis: cells are the product of all axes'),
  repetitions: z.int().min(1).max(1000).optional(),
  warmup: z.int().min(0).max(100).optional().describe('Warmup repetitions before the measured ones'),
  control: z
    .int()
    .min(0)
    .max(100)
    .optional()
    .describe('Collectors-off control repetitions (see the matrix-level `control`)'),
  adaptive: adaptive.optional(),
  timeout: duration(1000, 7 * 24 * 3_600_000)
    .optional()
    .describe('Per repetition; overrides the benchmark default'),
  inputs: z
    .string()
    .min(1)
    .optional()
    .describe('Folder mounted read-only at /in in the container (relative to the matrix)'),
  targets: z.array(NAME).min(1).optional().describe('Run only on these targets (default: all)'),
  requires: requiresSchema.optional().describe("Replaces the benchmark's requires for this entry"),
  primary: PRIMARY_SCORE.optional(),
  expect: entryExpect.optional(),
});

export const matrixSchema = z.strictObject({
  name: NAME,
  repetitions: z
    .int()
    .min(1)
    .max(1000)
    .default(5)
    .describe(
      'Measured repetitions per cell. 5: the fewest with which a 10 % difference is called on a shared 2-core machine (npm run perf:verdicts); 3 never can be (the smallest Mann-Whitney p of 3 vs 3 is 0.1)',
    ),
  warmup: z
    .int()
    .min(0)
    .max(100)
    .default(0)
    .describe('Warmup repetitions per cell, run first, recorded, and kept out of every statistic'),
  control: z
    .int()
    .min(0)
    .max(100)
    .default(0)
    .describe(
      'Control repetitions per cell, after the warmups, with every metric collector of the machine off: recorded, kept out of statistics, compared with the measured ones to show what sampling costs',
    ),
  adaptive: adaptive.optional().describe('Extend repetitions until the CoV of the first score is low enough'),
  concurrency: z.int().min(1).max(256).default(1).describe('Cells at once per machine'),
  order: z
    .enum(['blocked', 'interleaved', 'random'])
    .default('interleaved')
    .describe(
      "In which order a target's repetitions run (default interleaved: measured on a shared 2-core machine, blocked runs turned drift into 14-41 % false alarms, interleaved 0-7 %, at the same detection; npm run perf:verdicts): blocked (each cell's repetitions back to back), interleaved (round after round, one repetition of every cell per round, in a new seeded random order each round: drift and noisy neighbours hit every contender alike), random (every repetition in one seeded random order, each cell's own in sequence)",
    ),
  shareEngine: z
    .boolean()
    .default(false)
    .describe(
      'Allow targets whose machines reach the same Docker engine (two names for one box): they run as one machine. Default false: such a matrix is refused before anything starts',
    ),
  metrics: z
    .strictObject({
      interval: duration(100, 60_000).default(1000).describe('Sampling interval, 100ms to 60s'),
      quiet: z
        .boolean()
        .default(false)
        .describe('Hold samples on the machine while a repetition runs; ship them between repetitions'),
      collector: z
        .enum(['auto', 'agent'])
        .default('auto')
        .describe(
          "auto: sample in the controller where it can read the machine's cgroups, else in the agent container; agent: always the agent",
        ),
      host: z
        .boolean()
        .default(true)
        .describe('Sample the machine: CPU, memory, disks, network, temperatures'),
      gpu: z
        .boolean()
        .default(true)
        .describe('Sample NVIDIA GPUs with one long-lived nvidia-smi (absent GPUs are fine)'),
    })
    .default({ interval: 1000, quiet: false, collector: 'auto', host: true, gpu: true }),
  events: eventsConfig.optional().describe('What happens with the Docker events of the containers: webhooks'),
  health: healthConfig.optional(),
  targets: z.array(target).min(1, 'at least one target is required'),
  benchmarks: z.array(benchmarkEntry).min(1, 'at least one benchmark is required'),
  images: z
    .strictObject({
      registry: REGISTRY.describe(
        'Docker registry (v2) near the machines: images are pushed there from this machine and pulled by digest; machines that cannot reach it get them over SSH (save|load)',
      ),
    })
    .optional(),
  store: z
    .strictObject({
      elasticsearch: z
        .strictObject({
          url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
          flushInterval: duration(100, 600_000)
            .optional()
            .describe('Metric batches are sent at least this often (default 10s)'),
          memoryLimit: byteSize(64 * 1024, 4 * 1024 ** 3)
            .optional()
            .describe('Batches held in memory before they go to the disk spool (default 64MiB)'),
          lookBack: z
            .string()
            .regex(/^\d+[smhd]$/, 'must be a time like 7d or 12h')
            .optional()
            .describe('How old a replayed sample may be and still be accepted (default 7d)'),
        })
        .optional(),
    })
    .optional(),
});

export type MatrixInput = z.input<typeof matrixSchema>;
export type MatrixDocument = z.output<typeof matrixSchema>;

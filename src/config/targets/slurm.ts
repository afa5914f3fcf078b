/**
 * Target options of `provider: slurm`: nodes of an HPC cluster, asked of its scheduler.
 * An allocation (a holder job) is a machine; its node's Docker engine runs the containers.
 */
import { z } from 'zod';
import { duration } from '../common-schema.js';
import { machineCount } from './count.js';
import { DEFAULT_SSH_LOGIN, sshLogin } from './ssh.js';

/** A Slurm name (partition, account, qos, reservation, node): no spaces, quotes or shell characters. */
const SLURM_NAME = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.:+-]*$/, 'a Slurm name (letters, digits, _ . : + -)')
  .max(128);

/** `gpu:a100:2`, `gpu:2`, `fpga:1`, several joined by commas, as `--gres` takes them. */
const GRES = z
  .string()
  .regex(
    /^[a-z][a-z0-9_]*(:[A-Za-z0-9_.-]+)?(:\d+)?(,[a-z][a-z0-9_]*(:[A-Za-z0-9_.-]+)?(:\d+)?)*$/,
    'generic resources as --gres takes them, e.g. gpu:a100:2 or gpu:2',
  );

/** A node list as Slurm writes it (`h[1-3],gpu07`). */
const NODE_LIST = z
  .string()
  .regex(/^[A-Za-z0-9_.\-[\],]+$/, 'a Slurm node list such as gpu[01-04],gpu07')
  .max(1000);

export const slurmTarget = z
  .strictObject({
    login: z
      .union([
        z.strictObject({
          host: z.string().min(1).describe('The login node, reached over SSH with the `ssh:` block'),
        }),
        z.strictObject({
          local: z.literal(true).describe('benchyard runs on a login node: Slurm commands run here'),
        }),
      ])
      .describe('Where the Slurm commands (sbatch, squeue, scontrol, scancel, sinfo) run'),
    cluster: z
      .string()
      .regex(/^[A-Za-z0-9_.-]+$/)
      .optional()
      .describe("A label recorded on results (default: Slurm's ClusterName)"),
    partition: SLURM_NAME.describe('The partition the holder jobs are submitted to'),
    account: SLURM_NAME.optional(),
    qos: SLURM_NAME.optional(),
    reservation: SLURM_NAME.optional(),
    constraint: z
      .string()
      .regex(/^[A-Za-z0-9_&|()[\]*!,. -]+$/, 'node features as --constraint takes them')
      .optional()
      .describe('Node features the node must have (--constraint)'),
    exclude: NODE_LIST.optional().describe('Nodes never to be given (--exclude)'),
    gres: GRES.optional().describe(
      "Generic resources per allocation (--gres), e.g. gpu:a100:2; default: the most GPUs a cell's `requires: gpu` asks for",
    ),
    exclusive: z
      .boolean()
      .default(true)
      .describe('Whole nodes (--exclusive): nothing else runs beside a benchmark'),
    cpus: z
      .int()
      .min(1)
      .max(4096)
      .optional()
      .describe('CPUs per allocation when not exclusive (--cpus-per-task)'),
    memory: z
      .string()
      .regex(/^\d+[KMGT]?$/, 'a Slurm memory size such as 16G')
      .optional()
      .describe('Memory per allocation (--mem); containers get this limit'),
    nodes: machineCount(256).describe(
      'Allocations (one node each) at once: a number, or { min, max } to grow while cells wait',
    ),
    timeLimit: duration(60_000, 30 * 24 * 3_600_000)
      .default(7_200_000)
      .describe("Each allocation's --time: Slurm's own limit ends it if benchyard cannot"),
    gpuDevices: z
      .union([
        z.literal('gres'),
        z.string().regex(/^\/.*\{index\}/, "'gres', or a device path with {index}, e.g. /dev/nvidia{index}"),
      ])
      .optional()
      .describe(
        "Pass the allocated GPUs as device nodes instead of through the NVIDIA runtime: 'gres' the files the node's gres.conf lists for them (read with `slurmd -G` on the node), or a path with {index} (Slurm's GPU index)",
      ),
    nodeAddress: z
      .enum(['name', 'addr'])
      .default('addr')
      .describe('How to reach a node over SSH: its NodeAddr (default) or its NodeName'),
    pollInterval: duration(100, 600_000)
      .default(2_000)
      .describe('How often queued and running holder jobs are looked at'),
    ssh: sshLogin.default(DEFAULT_SSH_LOGIN),
  })
  .superRefine((t, ctx) => {
    if (t.exclusive && t.cpus !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['cpus'],
        message:
          "'cpus' applies to shared nodes: set 'exclusive: false' too, or drop 'cpus' (exclusive jobs get every CPU)",
      });
  });

export type SlurmTargetOptions = z.output<typeof slurmTarget>;

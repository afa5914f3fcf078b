/**
 * What a holder job was given on its node, and the node's Docker engine confined to it.
 * Containers started by the node's engine are outside the job's cgroup, so Slurm's own
 * confinement does not reach them: benchyard gives each one exactly the allocation's CPUs,
 * memory and GPUs (`--cpuset-cpus`, `--memory`, devices), as the job itself would have.
 */
import type Docker from 'dockerode';
import { InfrastructureError, type ContainerSpec, type EngineContainer } from '../../src/core/index.js';
import { DockerEngine } from '../../src/engine/docker-engine.js';
import { expandIds, type AllocatedGres, type JobDetails } from './commands.js';

export interface Allocation {
  jobId: string;
  node: string;
  /** OS CPU ids the job may use (`0-3`): read inside the job where possible, else Slurm's CPU_IDs. */
  cpus?: string;
  memoryBytes?: number;
  /** GPU indices (Slurm's, as in `SLURM_JOB_GPUS`: the order of the node's GPUs in its gres.conf). */
  gpus: number[];
  /** The node's GPU device files by index (`slurmd -G`), where read. */
  gpuFiles?: ReadonlyMap<number, string>;
  gres: AllocatedGres[];
}

/** The allocation as `scontrol show job -d` says it; `inside` (read in the job) wins where given. */
export function allocationOf(
  job: JobDetails,
  inside?: { cpus?: string | undefined; gpus?: string | undefined },
): Allocation {
  const fromSlurm = job.gres.filter((g) => g.name === 'gpu').flatMap((g) => g.indices);
  const gpus = inside?.gpus !== undefined && inside.gpus !== '' ? expandIds(inside.gpus) : fromSlurm;
  const cpus = inside?.cpus || job.cpuIds;
  return {
    jobId: job.id,
    node: job.node ?? '',
    ...(cpus ? { cpus } : {}),
    ...(job.memoryMb ? { memoryBytes: job.memoryMb * 1024 * 1024 } : {}),
    gpus,
    gres: job.gres,
  };
}

/** `gpu:fake:2(IDX:0-1)` as results record it. */
export function describeGres(gres: readonly AllocatedGres[]): string {
  return gres
    .map((g) => `${g.name}${g.type ? `:${g.type}` : ''}:${g.count}(IDX:${g.indices.join(',')})`)
    .join(',');
}

/**
 * A shell snippet run on the node: finds a process of the job (its environment names the
 * job) and prints the CPUs it may run on and `SLURM_JOB_GPUS`, which hold the real device
 * indices where `ConstrainDevices` renumbers them inside the job. Prints nothing when no
 * process of the job is visible (another user's, another PID namespace).
 */
export function insideProbe(jobId: string): string {
  if (!/^\d+$/.test(jobId)) throw new InfrastructureError(`not a Slurm job id: ${jobId}`);
  return `for p in /proc/[0-9]*; do
  if tr '\\0' '\\n' < "$p/environ" 2>/dev/null | grep -qx 'SLURM_JOB_ID=${jobId}'; then
    printf 'cpus=%s\\n' "$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' "$p/status")"
    printf 'gpus=%s\\n' "$(tr '\\0' '\\n' < "$p/environ" | sed -n 's/^SLURM_JOB_GPUS=//p')"
    exit 0
  fi
done`;
}

export function parseInside(stdout: string): { cpus?: string; gpus?: string } | undefined {
  const cpus = /^cpus=(.*)$/m.exec(stdout)?.[1]?.trim();
  const gpus = /^gpus=(.*)$/m.exec(stdout)?.[1]?.trim();
  if (cpus === undefined) return undefined;
  return { ...(/^[\d,-]+$/.test(cpus) ? { cpus } : {}), ...(gpus !== undefined ? { gpus } : {}) };
}

/** The spec confined to the allocation: its CPUs, its memory, and only its GPUs. */
export function confine(
  spec: ContainerSpec,
  alloc: Allocation,
  gpuDevices: string | undefined,
): ContainerSpec {
  const out: ContainerSpec = {
    ...spec,
    ...(alloc.cpus ? { cpuset: alloc.cpus } : {}),
    ...(alloc.memoryBytes ? { memoryBytes: alloc.memoryBytes } : {}),
  };
  const gpu = spec.access?.gpu;
  if (!gpu || !spec.access) return out;
  const need = gpu.count === 'all' ? alloc.gpus.length : gpu.count;
  if (alloc.gpus.length === 0 || alloc.gpus.length < need)
    throw new InfrastructureError(
      `the benchmark needs ${need} GPU${need === 1 ? '' : 's'}; Slurm job ${alloc.jobId} on ${alloc.node} was given ${alloc.gpus.length} (set the target's gres, e.g. gpu:${need})`,
      { reason: 'no-fitting-gpu' },
    );
  const given = alloc.gpus.slice(0, need);
  const { gpu: _asked, ...rest } = spec.access;
  void _asked;
  if (gpuDevices) {
    const devices = given.map((i) => {
      const path =
        gpuDevices === 'gres' ? alloc.gpuFiles?.get(i) : gpuDevices.replaceAll('{index}', String(i));
      if (!path)
        throw new InfrastructureError(
          `Slurm gave job ${alloc.jobId} GPU ${i} on ${alloc.node}, but the node's gres.conf names no device file for it (slurmd -G)`,
        );
      return { host: path, container: path, permissions: 'rwm' };
    });
    return { ...out, access: { ...rest, devices: [...rest.devices, ...devices] } };
  }
  const { gpus: _known, ...withoutKnown } = out;
  void _known;
  return { ...withoutKnown, access: { ...rest, gpu: { ...gpu, ids: given.map(String) } } };
}

/** The node's engine, every container confined to the allocation. */
export class AllocationEngine extends DockerEngine {
  constructor(
    docker: Docker,
    where: string,
    readonly allocation: Allocation,
    private readonly gpuDevices: string | undefined,
  ) {
    super(docker, where);
  }

  override create(spec: ContainerSpec): Promise<EngineContainer> {
    return super.create(confine(spec, this.allocation, this.gpuDevices));
  }
}

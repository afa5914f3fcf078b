/**
 * One Slurm cluster as benchyard talks to it: typed calls over `SlurmShell`, each one
 * command with an explicit output format, and Slurm's refusals turned into benchyard's
 * errors (a refused submission provably created nothing).
 */
import { InfrastructureError, InputError, ProvisionError, type Clock } from '../../src/core/index.js';
import {
  ENDED_STATES,
  SINFO_FORMAT,
  SQUEUE_FORMAT,
  isUnknownJob,
  parseJobDetails,
  parseSinfoNodes,
  parseSqueue,
  parseSubmitted,
  sbatchArgv,
  type HolderRequest,
  type JobDetails,
  type NodeInfo,
  type QueuedJob,
  type SlurmShell,
} from './commands.js';

/** sbatch refused the job: nothing was queued. */
export class SubmitRefused extends ProvisionError {}

/** sbatch refused the job because the target asks for something the cluster does not have. */
export class SubmitRejected extends InputError {}

/** Refusals that name a mistake in the target (partition, account, GRES, features) rather than a full cluster. */
const BAD_REQUEST =
  /invalid (partition|account|qos|generic resource|feature|reservation|node name|trackable resource)|Invalid (qos|account|partition|generic|feature|Trackable)|Requested node configuration is not available|No partition specified|Access\/permission denied|not permitted to use/i;

export class SlurmCluster {
  constructor(readonly shell: SlurmShell) {}

  get where(): string {
    return this.shell.where;
  }

  /** Submits a holder job; the job id. Throws `SubmitRefused` when sbatch said no. */
  async submit(req: HolderRequest, signal?: AbortSignal): Promise<string> {
    const out = await this.shell.run(sbatchArgv(req), signal);
    const id = out.code === 0 ? parseSubmitted(out.stdout) : undefined;
    if (id) return id;
    const said = firstLines(out.stderr || out.stdout);
    if (out.code > 0) {
      if (BAD_REQUEST.test(said))
        throw new SubmitRejected(`sbatch on ${this.where} rejected the target's request: ${said}`, {
          partition: req.partition,
        });
      const cls = /limit|QOSMax|AssocMax/i.test(said) ? 'QUOTA' : 'INFRA';
      throw new SubmitRefused(`sbatch on ${this.where} refused the job: ${said}`, cls, {
        partition: req.partition,
      });
    }
    // Killed or cut off, or an answer that is not a job id: it may have been queued.
    throw new InfrastructureError(`sbatch on ${this.where} gave no job id (exit ${out.code}): ${said}`);
  }

  /** `sbatch --test-only`: whether Slurm would take the request, and when it would start it. */
  async testOnly(req: HolderRequest, signal?: AbortSignal): Promise<{ ok: boolean; said: string }> {
    const argv = sbatchArgv(req).filter((a) => a !== '--parsable');
    const out = await this.shell.run([argv[0]!, '--test-only', ...argv.slice(1)], signal);
    return { ok: out.code === 0, said: firstLines(out.stderr || out.stdout) };
  }

  /** Jobs by name (all states Slurm still keeps), or the given ids. */
  async jobs(filter: { name?: string; ids?: readonly string[] }, signal?: AbortSignal): Promise<QueuedJob[]> {
    const argv = ['squeue', '-h', '-t', 'all', '-o', SQUEUE_FORMAT];
    if (filter.name) argv.push(`--name=${filter.name}`);
    if (filter.ids) argv.push(`--jobs=${filter.ids.join(',')}`);
    const out = await this.shell.run(argv, signal);
    if (out.code !== 0) {
      if (filter.ids && isUnknownJob(out.stderr)) return [];
      throw new InfrastructureError(`squeue on ${this.where} failed: ${firstLines(out.stderr)}`);
    }
    return parseSqueue(out.stdout);
  }

  /** A job's allocation in detail; undefined once Slurm no longer knows it. */
  async job(id: string, signal?: AbortSignal): Promise<JobDetails | undefined> {
    const out = await this.shell.run(['scontrol', 'show', 'job', '-d', '-o', id], signal);
    if (out.code !== 0) {
      if (isUnknownJob(out.stderr)) return undefined;
      throw new InfrastructureError(
        `scontrol show job ${id} on ${this.where} failed: ${firstLines(out.stderr)}`,
      );
    }
    return parseJobDetails(out.stdout);
  }

  /** How many pending jobs of the partition Slurm would start before this one (by priority). */
  async ahead(id: string, partition: string, signal?: AbortSignal): Promise<number | undefined> {
    const out = await this.shell.run(['squeue', '-h', '-t', 'PD', '-p', partition, '-o', '%i|%Q'], signal);
    if (out.code !== 0) return undefined;
    const rows = out.stdout
      .split('\n')
      .map((l) => l.split('|'))
      .filter((f) => f.length === 2 && /^\d+$/.test(f[0]!));
    const mine = rows.find((f) => f[0] === id);
    if (!mine) return undefined;
    const p = Number(mine[1]);
    return rows.filter((f) => Number(f[1]) > p || (Number(f[1]) === p && Number(f[0]) < Number(id))).length;
  }

  /** Cancels a job; resolves also when it ended or is unknown already. */
  async cancel(id: string, signal?: AbortSignal): Promise<void> {
    const out = await this.shell.run(['scancel', id], signal);
    if (out.code === 0 || isUnknownJob(out.stderr) || /already completing or completed/i.test(out.stderr))
      return;
    throw new InfrastructureError(`scancel ${id} on ${this.where} failed: ${firstLines(out.stderr)}`);
  }

  /**
   * Cancels a job and waits until Slurm reports an end state (COMPLETING is not one: the
   * node is still cleaning up); throws when that takes longer than `timeoutMs`.
   */
  async cancelConfirmed(id: string, clock: Clock, timeoutMs = 120_000): Promise<void> {
    await this.cancel(id);
    const deadline = clock.now() + timeoutMs;
    for (let look = 0; ; look++) {
      const job = (await this.jobs({ ids: [id] }))[0];
      if (!job || ENDED_STATES.has(job.state)) return;
      if (clock.now() > deadline)
        throw new InfrastructureError(
          `Slurm job ${id} is still ${job.state} ${timeoutMs / 1000} s after scancel; gc will look again`,
        );
      await clock.sleep(Math.min(2_000, 100 * 2 ** look));
    }
  }

  /** The partition's nodes with their CPUs, memory, GRES and features. */
  async nodes(partition: string, signal?: AbortSignal): Promise<NodeInfo[]> {
    const out = await this.shell.run(['sinfo', '-N', '-h', '-p', partition, '-o', SINFO_FORMAT], signal);
    if (out.code !== 0)
      throw new InfrastructureError(`sinfo on ${this.where} failed: ${firstLines(out.stderr)}`);
    const nodes = parseSinfoNodes(out.stdout);
    if (nodes.length === 0)
      throw new InputError(
        `Slurm partition '${partition}' on ${this.where} has no nodes (or does not exist)`,
      );
    return nodes;
  }

  /** Slurm's ClusterName. */
  async name(signal?: AbortSignal): Promise<string | undefined> {
    const out = await this.shell.run(['scontrol', 'show', 'config'], signal);
    return /^ClusterName\s*=\s*(\S+)/m.exec(out.stdout)?.[1];
  }
}

function firstLines(text: string): string {
  return text.trim().split('\n').slice(0, 3).join(' | ').slice(0, 500) || '(no message)';
}

/**
 * Nodes of a Slurm cluster, asked of its scheduler. A machine is an allocation: benchyard
 * submits a holder job (`sbatch`: partition, account, GRES, `--exclusive`, `--time`; its
 * comment carries the ledger key, session, owner and expiry; the ledger entry is written
 * first), waits while Slurm queues it (saying why), reads the node, CPUs, memory and GPU
 * indices it got, and runs the containers on that node's Docker engine over SSH, confined
 * to exactly that allocation (`allocation.ts`). Release is `scancel`, confirmed by the
 * job's end state. A job Slurm ends (time limit, preemption, node failure, a cancel from
 * outside) makes its machine lost: what ran there runs again on another allocation.
 * Slurm's own time limit is the dead-man switch when benchyard cannot cancel.
 */
import {
  InfrastructureError,
  ProvisionError,
  LABELS,
  errorMessage,
  recordIntent,
  type AcceleratorInfo,
  type Machine,
  type MachineCount,
  type PreflightCheck,
  type Provider,
  type ProviderContext,
  type ProvisionStep,
  type ResourceRef,
  type SshSession,
  type TargetFacts,
  type TargetSpec,
  type TrackedEntry,
} from '../../src/core/index.js';
import type { SlurmTargetOptions } from '../../src/config/targets/slurm.js';
import { machineCountOf } from '../../src/core/index.js';
import { AllocationEngine, allocationOf, describeGres, insideProbe, parseInside } from './allocation.js';
import { SubmitRefused, SubmitRejected } from './cluster.js';
import { CommandNotSent, ENDED_STATES, QUEUED_STATES, parseGresDevices } from './commands.js';
import { decodeComment, encodeComment, holderName } from './identity.js';
import { JobWatch } from './job-watch.js';
import { Logins, nodeEndpoint, type Login } from './login.js';
import { describeNodes, nodeFits } from './nodes.js';
import { SlurmLeftovers } from './leftovers.js';
import { slurmPreflight } from './preflight.js';
import { holderRequest } from './request.js';
import { shellWord } from './shell.js';

interface Held {
  entry: TrackedEntry;
  jobId: string;
  login: Login;
  node: SshSession;
  lost: AbortController;
  releasing: boolean;
}

/** How often a queued holder's position is asked (one more `squeue` of the partition). */
const AHEAD_EVERY_MS = 10_000;

export class SlurmProvider implements Provider {
  readonly name = 'slurm';
  readonly capabilities = { elastic: true, spot: false, selfTerminate: true };
  private readonly logins: Logins;
  private readonly held = new Map<string, Held>();
  private readonly watches = new Map<string, JobWatch>();
  private readonly clusterNames = new Map<string, string>();
  private readonly leftovers: SlurmLeftovers;

  constructor(private readonly ctx: ProviderContext) {
    this.logins = new Logins(ctx);
    this.leftovers = new SlurmLeftovers(ctx, this.logins);
  }

  capacity(target: TargetSpec): MachineCount {
    return machineCountOf((target.options as SlurmTargetOptions).nodes);
  }

  /** What one allocation of the target gets: the target's GRES, on a node that can have it. */
  async describe(target: TargetSpec, signal: AbortSignal): Promise<TargetFacts> {
    const options = target.options as SlurmTargetOptions;
    const login = await this.logins.take(options, signal);
    try {
      const nodes = (await login.cluster.nodes(options.partition, signal)).filter((n) =>
        nodeFits(n, options),
      );
      return describeNodes(nodes, options);
    } finally {
      await this.logins.letGo(login);
    }
  }

  /** doctor: login, partition, what Slurm says of the request (`--test-only`), a node's Docker. */
  preflight(target: TargetSpec, signal: AbortSignal): Promise<PreflightCheck[]> {
    return slurmPreflight(this.ctx, this.logins, target, signal);
  }

  async acquire(target: TargetSpec, signal: AbortSignal): Promise<Machine> {
    const options = target.options as SlurmTargetOptions;
    const login = await this.logins.take(options, signal);
    let jobId: string | undefined;
    let entry: TrackedEntry | undefined;
    try {
      const cluster = options.cluster ?? (await this.clusterName(login, signal));
      entry = recordIntent(
        this.ctx.ledger,
        {
          provider: this.name,
          kind: 'job',
          target: target.name,
          region: cluster,
          zone: options.partition,
          details: { ...login.details, partition: options.partition, cluster },
        },
        // The job cannot outlive its time limit: nothing of it exists after that.
        new Date(this.ctx.clock.now() + options.timeLimit),
      );
      const provision: Partial<Record<ProvisionStep, number>> = { requested: this.ctx.clock.now() };
      jobId = await this.submit(login, entry, target);
      const started = (provision.created = this.ctx.clock.now());
      // Slurm's queue is the arbiter: a queued job keeps its place (`wait: false` is for
      // machines other controllers hold outright).
      await this.waitRunning(login, jobId, options, signal);
      provision.running = this.ctx.clock.now();
      const machine = await this.takeNode(login, entry, jobId, cluster, target, options, signal, provision);
      this.ctx.logger.info(
        `slurm: job ${jobId} runs on ${machine.hostname} (${((this.ctx.clock.now() - started) / 1000).toFixed(1)} s after submit)`,
      );
      return machine;
    } catch (err) {
      if (jobId && entry)
        await this.cancelJob(login, jobId, entry).catch((e: unknown) =>
          this.ctx.logger.warn(errorMessage(e)),
        );
      await this.logins.letGo(login);
      throw err;
    } finally {
      entry?.[Symbol.dispose]();
    }
  }

  /** Slurm's ClusterName, asked once per login. */
  private async clusterName(login: Login, signal: AbortSignal): Promise<string> {
    let name = this.clusterNames.get(login.key);
    if (!name) this.clusterNames.set(login.key, (name = (await login.cluster.name(signal)) ?? 'slurm'));
    return name;
  }

  private async submit(login: Login, entry: TrackedEntry, target: TargetSpec): Promise<string> {
    const outcome = await entry.create(
      () =>
        login.cluster.submit(
          holderRequest(target, {
            name: holderName(this.ctx.ledger.session),
            comment: encodeComment({
              key: entry.key,
              session: entry.session,
              owner: entry.owner,
              expiresAt: entry.expiresAt,
            }),
          }),
        ),
      {
        created: (id) => ({ resourceId: id }),
        notCreated: (err) =>
          err instanceof SubmitRefused || err instanceof SubmitRejected || err instanceof CommandNotSent
            ? errorMessage(err)
            : undefined,
      },
    );
    if (outcome.created) return outcome.answer;
    if (outcome.outcome === 'unknown') {
      // The submission may have been queued: find it by its comment, else leave it to gc.
      const found = (
        await login.cluster.jobs({ name: holderName(this.ctx.ledger.session) }).catch(() => [])
      ).find((j) => decodeComment(j.comment)?.key === entry.key);
      if (found) {
        entry.active({ resourceId: found.id });
        return found.id;
      }
    }
    throw outcome.error;
  }

  /** Polls until the job runs, saying why it waits when that changes. */
  private async waitRunning(
    login: Login,
    jobId: string,
    options: SlurmTargetOptions,
    signal: AbortSignal,
  ): Promise<void> {
    let told = '';
    let ahead: number | undefined;
    let askedAt = -Infinity;
    for (let look = 0; ; look++) {
      signal.throwIfAborted();
      const job = (await login.cluster.jobs({ ids: [jobId] }, signal))[0];
      if (!job) throw new ProvisionError(`Slurm job ${jobId} vanished before it ran`, 'INFRA');
      if (job.state === 'RUNNING') return;
      if (ENDED_STATES.has(job.state) || (!QUEUED_STATES.has(job.state) && job.state !== 'CONFIGURING'))
        throw new ProvisionError(
          `Slurm job ${jobId} ended before it ran: ${job.state} (${job.reason})`,
          'CAPACITY',
        );
      // `None`: the scheduler has not looked at it yet (within a few seconds of the submit).
      if (job.state === 'PENDING' && job.reason !== 'None') {
        if (this.ctx.clock.now() - askedAt >= AHEAD_EVERY_MS) {
          ahead = await login.cluster.ahead(jobId, options.partition, signal);
          askedAt = this.ctx.clock.now();
        }
        const line = `slurm: job ${jobId} waits in partition '${options.partition}': ${job.reason}${ahead !== undefined ? `, ${ahead} job${ahead === 1 ? '' : 's'} ahead` : ''}`;
        if (line !== told) (this.ctx.progress ?? this.ctx.logger.info)(line);
        told = line;
      }
      await this.ctx.clock.sleep(Math.min(options.pollInterval, 500 * 2 ** look), signal);
    }
  }

  /** Reads what the job got, connects to its node, and makes it a machine. */
  private async takeNode(
    login: Login,
    entry: TrackedEntry,
    jobId: string,
    cluster: string,
    target: TargetSpec,
    options: SlurmTargetOptions,
    signal: AbortSignal,
    provision: Partial<Record<ProvisionStep, number>>,
  ): Promise<Machine> {
    const job = await login.cluster.job(jobId, signal);
    if (!job?.node) throw new ProvisionError(`Slurm job ${jobId} runs, but on no node Slurm names`, 'INFRA');
    const info = (await login.cluster.nodes(options.partition, signal)).find((n) => n.name === job.node);
    const address = options.nodeAddress === 'name' || !info?.address ? job.node : info.address;
    const endpoint = nodeEndpoint(address, job.node, options.ssh, this.ctx.sshAgentSocket);
    entry.note({
      details: { node: job.node, nodeAddress: address, nodeDockerSocket: endpoint.dockerSocket },
    });
    const node = await this.ctx.connector.connect(endpoint, signal, {
      onSsh: () => (provision.ssh ??= this.ctx.clock.now()),
    });
    provision.docker = this.ctx.clock.now();
    try {
      const inside = await node.exec(`sh -c ${shellWord(insideProbe(jobId))}`, signal);
      const alloc = {
        ...allocationOf(job, parseInside(inside.stdout)),
        ...(options.gpuDevices === 'gres' ? { gpuFiles: await gresFiles(node, job.node, signal) } : {}),
      };
      const id = `slurm:${cluster}:${jobId}`;
      const lost = new AbortController();
      this.held.set(id, { entry, jobId, login, node, lost, releasing: false });
      this.watch(login, options).add(jobId, (reason) => lost.abort(new Error(reason)));
      void node.closed.then(() => {
        if (!this.held.get(id)?.releasing)
          lost.abort(new Error(`the SSH connection to node ${job.node} was lost`));
      });
      const gpus = alloc.gres.filter((g) => g.name === 'gpu');
      return {
        id,
        provider: this.name,
        instanceType: options.partition,
        region: cluster,
        zone: options.partition,
        hostname: job.node,
        engine: new AllocationEngine(node.docker, id, alloc, options.gpuDevices),
        ssh: node,
        localCgroups: false,
        revoked: lost.signal,
        hardware: {
          ...(alloc.cpus ? { cpuCores: countIds(alloc.cpus) } : {}),
          ...(alloc.memoryBytes ? { memoryBytes: alloc.memoryBytes } : {}),
          gpus: gpus.map((g): AcceleratorInfo => ({ model: g.type ?? 'gpu', count: g.count })),
        },
        placement: {
          cluster,
          partition: options.partition,
          node: job.node,
          job: jobId,
          ...(alloc.gres.length ? { gres: describeGres(alloc.gres) } : {}),
          ...(alloc.cpus ? { cpus: alloc.cpus } : {}),
        },
        provision,
      };
    } catch (err) {
      this.held.delete(`slurm:${cluster}:${jobId}`);
      this.watches.get(login.key)?.remove(jobId);
      await node.close();
      throw err;
    }
  }

  async release(machine: Machine, signal: AbortSignal): Promise<void> {
    const held = this.held.get(machine.id);
    if (!held) return;
    held.releasing = true;
    this.held.delete(machine.id);
    this.watches.get(held.login.key)?.remove(held.jobId);
    try {
      held.entry.releasing();
      // The node's engine runs the containers outside the job: they go first, by label.
      await machine.engine
        .removeLabelled([`${LABELS.session}=${this.ctx.ledger.session}`, `${LABELS.machine}=${machine.id}`])
        .catch((err: unknown) =>
          this.ctx.logger.warn(`slurm: removing containers on ${machine.hostname}: ${errorMessage(err)}`),
        );
      signal.throwIfAborted();
      await this.cancelJob(held.login, held.jobId, held.entry);
    } finally {
      await held.node.close();
      await this.logins.letGo(held.login);
    }
  }

  /** `scancel`, then waits until Slurm says the job ended; closes the entry only then. */
  private async cancelJob(login: Login, jobId: string, entry?: TrackedEntry): Promise<void> {
    await login.cluster.cancelConfirmed(jobId, this.ctx.clock);
    entry?.released();
  }

  private watch(login: Login, options: SlurmTargetOptions): JobWatch {
    let w = this.watches.get(login.key);
    if (!w) {
      w = new JobWatch(login.cluster, holderName(this.ctx.ledger.session), {
        clock: this.ctx.clock,
        logger: this.ctx.logger,
        intervalMs: options.pollInterval,
      });
      this.watches.set(login.key, w);
    }
    return w;
  }

  /** Holder jobs of benchyard on the logins the ledger names (every state Slurm still keeps). */
  discover(opts: {
    session?: string;
    hints: readonly ResourceRef[];
    signal: AbortSignal;
  }): Promise<ResourceRef[]> {
    return this.leftovers.discover(opts);
  }

  destroy(ref: ResourceRef, signal: AbortSignal): Promise<void> {
    return this.leftovers.destroy(ref, signal);
  }

  absent(ref: ResourceRef, signal: AbortSignal): Promise<boolean> {
    return this.leftovers.absent(ref, signal);
  }
}

function countIds(list: string): number {
  return list.split(',').reduce((n, part) => {
    const [a, b] = part.split('-').map(Number);
    return n + (b !== undefined && !Number.isNaN(b) ? b - a! + 1 : 1);
  }, 0);
}

/** The node's GPU device files by Slurm index, as its slurmd reads gres.conf (`slurmd -G`). */
async function gresFiles(node: SshSession, name: string, signal: AbortSignal): Promise<Map<number, string>> {
  const out = await node.exec(`PATH="$PATH:/usr/sbin:/sbin" slurmd -G -N ${shellWord(name)} 2>&1`, signal);
  const files = parseGresDevices(out.stdout).get('gpu');
  if (!files?.size)
    throw new InfrastructureError(
      `gpuDevices: gres: 'slurmd -G' on node ${name} lists no GPU device file (exit ${out.code}): ${out.stdout.trim().slice(0, 300)}`,
    );
  return files;
}

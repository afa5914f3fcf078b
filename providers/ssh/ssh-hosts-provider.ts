/**
 * Machines that exist already (bare-metal FPGA boxes, lab GPUs), reached over SSH.
 * Nothing is provisioned: `acquire` takes the lease of the next free host of the target on
 * the host itself (`ctx.leases`: every controller that reaches the host agrees, whatever its
 * state folder), waiting while all are held by others; `release` removes the containers this
 * session started there for this machine and returns the lease. The ledger records what this
 * controller did (an entry of kind `lease`), so `gc` finds the host again after a crash.
 * A target's hosts are a fixed list, or the active members of a named pool, read again at
 * every `acquire`.
 */
import { DockerEngine } from '../../src/engine/docker-engine.js';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import SSHConfig from 'ssh-config';
import {
  InfrastructureError,
  InputError,
  LABELS,
  MachineBusyError,
  ProvisionError,
  errorMessage,
  recordHeld,
  endpointDetails,
  endpointFromDetails,
  sshEndpoint,
  waitForMachine,
  type AcquireOptions,
  type LeaseHolder,
  type Machine,
  type MachineLease,
  type MachineLeases,
  type PoolMember,
  type Provider,
  type ProviderContext,
  type ProvisionStep,
  type ResourceRef,
  type SshEndpoint,
  type SshLoginOptions,
  type MachineCount,
  type TargetSpec,
  type TrackedEntry,
} from '../../src/core/index.js';
import type { SshHostEntry, SshHostsTargetOptions } from '../../src/config/targets/ssh-hosts.js';

interface Held {
  entry: TrackedEntry;
  hostId: string;
  lease: MachineLease;
  /** The pool member the machine is, for a `pool:` target. */
  member?: { pool: string; host: string; port: number | undefined };
}

/** A pool read is reused for this long: one read per membership check (about once a second). */
const POOL_READ_REUSE_MS = 500;
export class SshHostsProvider implements Provider {
  readonly name = 'ssh';
  readonly capabilities = { elastic: false, spot: false, selfTerminate: false };
  private readonly held = new Map<string, Held>();
  /** The last read of each pool (see `poolNow`). */
  private readonly poolReads = new Map<string, { at: number; members: Map<string, PoolMember> }>();
  /** Hosts being acquired by this controller now (two acquires never try the same host). */
  private readonly trying = new Set<string>();

  constructor(private readonly ctx: ProviderContext) {}

  /** Every host of the target can be in use at once: the list, or the pool's active members now. */
  capacity(target: TargetSpec): MachineCount {
    const options = target.options as SshHostsTargetOptions;
    const n = options.hosts ? options.hosts.length : this.activeMembers(options.pool).length;
    return { min: n, max: n };
  }

  async acquire(target: TargetSpec, signal: AbortSignal, opts: AcquireOptions = {}): Promise<Machine> {
    // Nothing is created: the request is the acquire, and waiting for a busy host is part of it.
    const requested = this.ctx.clock.now();
    return waitForMachine(() => this.tryAcquire(target, requested, signal), {
      wait: opts.wait ?? true,
      pollMs: this.ctx.leasePollMs ?? 2_000,
      clock: this.ctx.clock,
      logger: this.ctx.logger,
      signal,
      ...(this.ctx.progress ? { progress: this.ctx.progress } : {}),
    });
  }

  /** One pass over the target's hosts: the first free one, else who holds them. */
  private async tryAcquire(target: TargetSpec, requested: number, signal: AbortSignal): Promise<Machine> {
    const options = target.options as SshHostsTargetOptions;
    const candidates: { entry: SshHostEntry; member?: PoolMember }[] = options.hosts
      ? options.hosts.map((entry) => ({ entry }))
      : this.activeMembers(options.pool).map((member) => ({ entry: memberEntry(member), member }));
    const problems: string[] = [];
    const busy: { machine: string; holder: LeaseHolder }[] = [];
    for (const { entry, member } of candidates) {
      signal.throwIfAborted();
      const endpoint = resolveHost(entry, options.ssh, this.ctx.sshAgentSocket);
      const hostId = `${endpoint.user}@${endpoint.host}:${endpoint.port}`;
      if (this.trying.has(hostId) || [...this.held.values()].some((h) => h.hostId === hostId)) continue;
      this.trying.add(hostId);
      try {
        return await this.take(target, endpoint, hostId, member, { requested }, signal);
      } catch (err) {
        if (err instanceof MachineBusyError) busy.push(...err.busy);
        else if (err instanceof InputError || signal.aborted) throw err;
        else {
          problems.push(`${hostId}: ${errorMessage(err)}`);
          this.ctx.logger.warn(`ssh host ${hostId} is not usable: ${errorMessage(err)}`);
        }
      } finally {
        this.trying.delete(hostId);
      }
    }
    if (busy.length > 0) throw new MachineBusyError(busy, { target: target.name });
    const none =
      options.pool !== undefined && candidates.length === 0
        ? ` (pool '${options.pool}' has no active member: 'benchyard pool add ${options.pool} <host>')`
        : ' (all in use by this run)';
    throw new ProvisionError(
      `no free host in target '${target.name}'${problems.length ? `: ${problems.join('; ')}` : none}`,
      'CAPACITY',
      { target: target.name },
    );
  }

  /** Connects, takes the host's lease, and records it; undoes what it did when a step fails. */
  private async take(
    target: TargetSpec,
    endpoint: SshEndpoint,
    hostId: string,
    member: PoolMember | undefined,
    provision: Partial<Record<ProvisionStep, number>>,
    signal: AbortSignal,
  ): Promise<Machine> {
    const session = await this.ctx.connector.connect(endpoint, signal, {
      onSsh: () => (provision.ssh ??= this.ctx.clock.now()),
    });
    provision.docker = this.ctx.clock.now();
    const id = `ssh:${hostId}`;
    let lease: MachineLease;
    try {
      lease = await leasesOf(this.ctx).take(session.docker, {
        machine: id,
        target: target.name,
        shareEngine: target.shareEngine ?? false,
        signal,
      });
    } catch (err) {
      await session.close();
      throw err;
    }
    // The record of what this controller holds, for gc after a crash (not the arbiter): no
    // create call to precede, so it is written once the lease is held.
    let entry: TrackedEntry;
    try {
      entry = recordHeld(
        this.ctx.ledger,
        { provider: this.name, kind: 'lease', target: target.name, details: endpointDetails(endpoint) },
        new Date(this.ctx.clock.now() + this.ctx.maxLifetimeMs),
        { resourceId: hostId, details: { engineId: lease.engineId } },
      );
    } catch (err) {
      await lease.release().catch((e: unknown) => this.ctx.logger.warn(errorMessage(e)));
      await session.close();
      throw err;
    }
    this.held.set(id, {
      entry,
      hostId,
      lease,
      ...(member ? { member: { pool: member.pool, host: member.host, port: member.port } } : {}),
    });
    return {
      id,
      provider: this.name,
      instanceType: 'bare-metal',
      hostname: endpoint.host,
      engine: new DockerEngine(session.docker, id),
      ssh: session,
      localCgroups: false,
      engineId: lease.engineId,
      revoked: lease.lost,
      provision,
    };
  }

  /** Whether the machine's pool member was drained or removed since it was leased. */
  withdrawn(machine: Machine): 'drain' | 'now' | undefined {
    const member = this.held.get(machine.id)?.member;
    if (!member) return undefined;
    const current = this.poolNow(member.pool).get(`${member.host}:${member.port}`);
    if (!current || current.state === 'removed') return current?.now ? 'now' : 'drain';
    return current.state === 'draining' ? 'drain' : undefined;
  }

  async release(machine: Machine, signal: AbortSignal): Promise<void> {
    const held = this.held.get(machine.id);
    if (!held) return;
    this.held.delete(machine.id);
    try {
      await removeMachineContainers(machine, this.ctx.ledger.session, signal);
      // Returned only once the host is clean; otherwise the open entry is how gc finds it.
      held.entry.released();
    } finally {
      await held.lease.release().catch((err: unknown) => this.ctx.logger.warn(errorMessage(err)));
      await machine.ssh?.close();
    }
  }

  /** Who holds the host now, read from the host itself (for `pool list`). */
  async holder(
    entry: SshHostEntry,
    login: SshLoginOptions,
    signal: AbortSignal,
  ): Promise<(LeaseHolder & { expired: boolean }) | undefined> {
    const session = await this.ctx.connector.connect(
      resolveHost(entry, login, this.ctx.sshAgentSocket),
      signal,
    );
    try {
      return await leasesOf(this.ctx).read(session.docker, signal);
    } finally {
      await session.close();
    }
  }

  /** Open leases are the resources: their hosts may hold containers of a dead controller. */
  async discover(opts: { session?: string; hints: readonly ResourceRef[] }): Promise<ResourceRef[]> {
    return opts.hints.filter(
      (h) => h.provider === this.name && (!opts.session || h.session === opts.session),
    );
  }

  /** Removes the containers the lease's session started on the host; the lease is then returned by gc. */
  async destroy(ref: ResourceRef, signal: AbortSignal): Promise<void> {
    const endpoint = endpointFromDetails(ref.details ?? {});
    if (!endpoint) return;
    const session = await this.ctx.connector.connect(endpoint, signal);
    try {
      if (ref.session)
        await removeSessionContainers(
          { engine: new DockerEngine(session.docker, ref.id), id: ref.id },
          ref.session,
          signal,
        );
    } finally {
      await session.close();
    }
  }

  /**
   * The pool's members by `host:port`, read once per membership check: the scheduler asks
   * about every machine each second, and reading the whole pool for each one cost 0.65 s
   * of CPU per second at 1,000 members (npm run perf:scale).
   */
  private poolNow(pool: string): Map<string, PoolMember> {
    const now = this.ctx.clock.now();
    const seen = this.poolReads.get(pool);
    if (seen && now - seen.at < POOL_READ_REUSE_MS) return seen.members;
    const members = new Map(
      this.pools()
        .members(pool)
        .map((m) => [`${m.host}:${m.port}`, m]),
    );
    this.poolReads.set(pool, { at: now, members });
    return members;
  }

  private activeMembers(pool: string): PoolMember[] {
    return this.pools()
      .members(pool)
      .filter((m) => m.state === 'active');
  }

  private pools() {
    if (!this.ctx.pools)
      throw new InfrastructureError('ssh targets with a pool need the pool store (ProviderContext.pools)');
    return this.ctx.pools;
  }
}

/** A host entry of the target, with `~/.ssh/config` (HostName, Port, User, IdentityFile) applied. */
export function resolveHost(
  entry: SshHostEntry,
  login: SshLoginOptions,
  agentSocket?: string | undefined,
): SshEndpoint {
  const spec = typeof entry === 'string' ? { host: entry } : entry;
  const fromConfig = sshConfigFor(spec.host);
  const merged: SshLoginOptions = {
    ...login,
    ...((spec.port ?? fromConfig.port) ? { port: spec.port ?? fromConfig.port } : {}),
    ...((spec.user ?? login.user ?? fromConfig.user)
      ? { user: spec.user ?? login.user ?? fromConfig.user }
      : {}),
    ...((login.keyFile ?? fromConfig.keyFile) ? { keyFile: login.keyFile ?? fromConfig.keyFile } : {}),
    ...(spec.dockerSocket ? { dockerSocket: spec.dockerSocket } : {}),
  };
  return sshEndpoint(fromConfig.hostName ?? spec.host, merged, { user: 'root', agentSocket });
}

/** A pool member as a host entry: its own port, user and socket override the target's `ssh:`. */
function memberEntry(m: PoolMember): SshHostEntry {
  return {
    host: m.host,
    ...(m.port !== undefined ? { port: m.port } : {}),
    ...(m.user !== undefined ? { user: m.user } : {}),
    ...(m.dockerSocket !== undefined ? { dockerSocket: m.dockerSocket } : {}),
  };
}

function sshConfigFor(alias: string): { hostName?: string; port?: number; user?: string; keyFile?: string } {
  let text: string;
  try {
    text = readFileSync(path.join(os.homedir(), '.ssh', 'config'), 'utf8');
  } catch {
    return {};
  }
  const c = SSHConfig.parse(text).compute(alias) as Record<string, string | string[] | undefined>;
  const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
  const hostName = first(c.HostName);
  const port = first(c.Port);
  const user = first(c.User);
  const keyFile = first(c.IdentityFile);
  return {
    ...(hostName ? { hostName } : {}),
    ...(port ? { port: Number(port) } : {}),
    ...(user ? { user } : {}),
    ...(keyFile ? { keyFile } : {}),
  };
}

function leasesOf(ctx: ProviderContext): MachineLeases {
  if (!ctx.leases) throw new InfrastructureError('ssh targets need machine leases (ProviderContext.leases)');
  return ctx.leases;
}

/**
 * Force-removes the containers this session started for this machine (benchmarks, the
 * metrics agent, the fingerprint probe): selected by machine and session, so a target that
 * shares the engine keeps its own.
 */
export function removeMachineContainers(machine: Machine, session: string, signal: AbortSignal) {
  return removeContainers(
    machine,
    [`${LABELS.session}=${session}`, `${LABELS.machine}=${machine.id}`],
    signal,
  );
}

/** Force-removes every container of `session` on an engine (gc: its controller is gone). */
export function removeSessionContainers(
  machine: Pick<Machine, 'engine' | 'id'>,
  session: string,
  signal: AbortSignal,
) {
  return removeContainers(machine, [`${LABELS.session}=${session}`], signal);
}

async function removeContainers(
  machine: Pick<Machine, 'engine' | 'id'>,
  labels: string[],
  signal: AbortSignal,
): Promise<number> {
  signal.throwIfAborted();
  try {
    return await machine.engine.removeLabelled(labels);
  } catch (err) {
    throw new InfrastructureError(
      `removing containers on ${machine.id}: ${errorMessage(err)}`,
      { machine: machine.id },
      { cause: err },
    );
  }
}

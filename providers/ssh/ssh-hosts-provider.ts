/**
 * Machines that exist already (bare-metal FPGA boxes, lab GPUs), reached over SSH.
 * Nothing is provisioned: `acquire` leases the next free host of the target (a ledger
 * entry of kind `lease`, so two controllers never share a host), `release` removes the
 * containers this session started there and returns the lease. A target's hosts are a
 * fixed list, or the active members of a named pool, read again at every `acquire`.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import SSHConfig from 'ssh-config';
import {
  InfrastructureError,
  LABELS,
  ProvisionError,
  errorMessage,
  sshEndpoint,
  type Machine,
  type PoolMember,
  type Provider,
  type ProviderContext,
  type ResourceRef,
  type SshEndpoint,
  type SshLoginOptions,
  type MachineCount,
  type TargetSpec,
} from '../../src/core/index.js';
import type { SshHostEntry, SshHostsTargetOptions } from '../../src/config/targets/ssh-hosts.js';

interface Lease {
  key: string;
  hostId: string;
  /** The pool member the machine is, for a `pool:` target. */
  member?: { pool: string; host: string; port: number | undefined };
}

export class SshHostsProvider implements Provider {
  readonly name = 'ssh';
  readonly capabilities = { elastic: false, spot: false, selfTerminate: false };
  private readonly leases = new Map<string, Lease>();

  constructor(private readonly ctx: ProviderContext) {}

  /** Every host of the target can be in use at once: the list, or the pool's active members now. */
  capacity(target: TargetSpec): MachineCount {
    const options = target.options as SshHostsTargetOptions;
    const n = options.hosts ? options.hosts.length : this.activeMembers(options.pool).length;
    return { min: n, max: n };
  }

  async acquire(target: TargetSpec, signal: AbortSignal): Promise<Machine> {
    const options = target.options as SshHostsTargetOptions;
    const candidates: { entry: SshHostEntry; member?: PoolMember }[] = options.hosts
      ? options.hosts.map((entry) => ({ entry }))
      : this.activeMembers(options.pool).map((member) => ({ entry: memberEntry(member), member }));
    const problems: string[] = [];
    for (const { entry, member } of candidates) {
      signal.throwIfAborted();
      const endpoint = resolveHost(entry, options.ssh);
      const hostId = `${endpoint.user}@${endpoint.host}:${endpoint.port}`;
      if (this.isLeased(hostId)) continue;
      const lease = this.ctx.ledger.intend(
        {
          provider: this.name,
          kind: 'lease',
          target: target.name,
          details: endpointDetails(endpoint),
        },
        new Date(this.ctx.clock.now() + this.ctx.maxLifetimeMs),
      );
      this.ctx.ledger.update(lease.key, { resourceId: hostId, status: 'active' });
      try {
        const session = await this.ctx.connector.connect(endpoint, signal);
        const machine: Machine = {
          id: `ssh:${hostId}`,
          provider: this.name,
          instanceType: 'bare-metal',
          hostname: endpoint.host,
          docker: session.docker,
          ssh: session,
          localCgroups: false,
        };
        this.leases.set(machine.id, {
          key: lease.key,
          hostId,
          ...(member ? { member: { pool: member.pool, host: member.host, port: member.port } } : {}),
        });
        return machine;
      } catch (err) {
        this.ctx.ledger.close(lease.key, 'failed', errorMessage(err));
        if (signal.aborted) throw err;
        problems.push(`${hostId}: ${errorMessage(err)}`);
        this.ctx.logger.warn(`ssh host ${hostId} is not usable: ${errorMessage(err)}`);
      }
    }
    const none =
      options.pool !== undefined && candidates.length === 0
        ? ` (pool '${options.pool}' has no active member: 'benchyard pool add ${options.pool} <host>')`
        : ' (all leased)';
    throw new ProvisionError(
      `no free host in target '${target.name}'${problems.length ? `: ${problems.join('; ')}` : none}`,
      'CAPACITY',
      { target: target.name },
    );
  }

  /** Whether the machine's pool member was drained or removed since it was leased. */
  withdrawn(machine: Machine): 'drain' | 'now' | undefined {
    const member = this.leases.get(machine.id)?.member;
    if (!member) return undefined;
    const current = this.pools()
      .members(member.pool)
      .find((m) => m.host === member.host && m.port === member.port);
    if (!current || current.state === 'removed') return current?.now ? 'now' : 'drain';
    return current.state === 'draining' ? 'drain' : undefined;
  }

  async release(machine: Machine, signal: AbortSignal): Promise<void> {
    const lease = this.leases.get(machine.id);
    if (!lease) return;
    this.leases.delete(machine.id);
    try {
      await removeSessionContainers(machine, this.ctx.ledger.session, signal);
      // Returned only once the host is clean; otherwise the open lease is how gc finds it.
      this.ctx.ledger.close(lease.key);
    } finally {
      await machine.ssh?.close();
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
    const d = ref.details as ReturnType<typeof endpointDetails> | undefined;
    if (!d?.host) return;
    const session = await this.ctx.connector.connect(
      { ...d, verifyHostKey: d.verifyHostKey !== false, readyTimeoutMs: 30_000 } as SshEndpoint,
      signal,
    );
    try {
      if (ref.session)
        await removeSessionContainers({ docker: session.docker, id: ref.id } as Machine, ref.session, signal);
    } finally {
      await session.close();
    }
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

  private isLeased(hostId: string): boolean {
    const now = this.ctx.clock.now();
    return this.ctx.ledger
      .open({ provider: this.name })
      .some((e) => e.resourceId === hostId && e.status === 'active' && Date.parse(e.expiresAt) > now);
  }
}

/** A host entry of the target, with `~/.ssh/config` (HostName, Port, User, IdentityFile) applied. */
export function resolveHost(entry: SshHostEntry, login: SshLoginOptions): SshEndpoint {
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
  return sshEndpoint(fromConfig.hostName ?? spec.host, merged, { user: 'root' });
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

/** What gc needs to reach the host again: the key file's path, never its contents. */
function endpointDetails(e: SshEndpoint) {
  return {
    host: e.host,
    port: e.port,
    user: e.user,
    ...(e.keyFile ? { keyFile: e.keyFile } : {}),
    ...(e.agent ? { agent: e.agent } : {}),
    ...(e.knownHostsFile ? { knownHostsFile: e.knownHostsFile } : {}),
    verifyHostKey: e.verifyHostKey,
    dockerSocket: e.dockerSocket,
  };
}

/** Force-removes every container of `session` on the machine (benchmarks and the metrics agent). */
export async function removeSessionContainers(
  machine: Machine,
  session: string,
  signal: AbortSignal,
): Promise<number> {
  signal.throwIfAborted();
  try {
    const containers = await machine.docker.listContainers({
      all: true,
      filters: { label: [`${LABELS.managed}=true`, `${LABELS.session}=${session}`] },
    });
    await Promise.all(
      containers.map((c) => machine.docker.getContainer(c.Id).remove({ force: true, v: true })),
    );
    return containers.length;
  } catch (err) {
    throw new InfrastructureError(
      `removing session containers on ${machine.id}: ${errorMessage(err)}`,
      { machine: machine.id },
      { cause: err },
    );
  }
}

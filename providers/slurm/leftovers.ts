/**
 * What `gc` finds of the slurm provider: holder jobs on the logins the ledger names, found
 * by name and comment; destroyed (the session's containers on the node removed, the job
 * cancelled and its end confirmed) only when the job, read back from Slurm, is the login
 * user's and its comment carries the ledger entry's key and session.
 */
import { LABELS, OwnershipError, type ProviderContext, type ResourceRef } from '../../src/core/index.js';
import { DockerEngine } from '../../src/engine/docker-engine.js';
import { ENDED_STATES } from './commands.js';
import { decodeComment, provesOwnership } from './identity.js';
import { nodeEndpoint, type Logins } from './login.js';

export class SlurmLeftovers {
  constructor(
    private readonly ctx: ProviderContext,
    private readonly logins: Logins,
  ) {}

  /** Holder jobs of benchyard on the logins the ledger names (every state Slurm still keeps). */
  async discover(opts: {
    session?: string;
    hints: readonly ResourceRef[];
    signal: AbortSignal;
  }): Promise<ResourceRef[]> {
    const out: ResourceRef[] = [];
    const seen = new Set<string>();
    for (const hint of opts.hints) {
      const opening = this.logins.takeRecorded(hint.details ?? {}, opts.signal);
      if (!opening) continue;
      const login = await opening;
      try {
        if (seen.has(login.key)) continue;
        seen.add(login.key);
        const hinted = new Set(opts.hints.map((h) => h.id).filter(Boolean));
        for (const job of await login.cluster.jobs({}, opts.signal)) {
          const id = decodeComment(job.comment);
          if (!id || !job.name.startsWith('benchyard-')) continue;
          if (opts.session && id.session !== opts.session) continue;
          if (ENDED_STATES.has(job.state) && !hinted.has(job.id)) continue;
          out.push({
            provider: 'slurm',
            kind: 'job',
            id: job.id,
            state: job.state,
            session: id.session,
            owner: id.owner,
            expiresAt: id.expiresAt,
            ledgerKey: id.key,
            details: { ...login.details, ...nodeDetailsOf(opts.hints, id.key), node: job.nodes },
          });
        }
      } finally {
        await this.logins.letGo(login);
      }
    }
    return out;
  }

  /**
   * Reads the job back from Slurm and checks its comment carries this entry's key and
   * session; then removes the session's containers on its node and cancels it.
   */
  async destroy(ref: ResourceRef, signal: AbortSignal): Promise<void> {
    const opening = this.logins.takeRecorded(ref.details ?? {}, signal);
    if (!opening)
      throw new OwnershipError(`slurm job ${ref.id}: the ledger does not say which login submitted it`);
    const login = await opening;
    try {
      const job = ref.id ? await login.cluster.job(ref.id, signal) : undefined;
      if (!job) return;
      // Anyone can name a job benchyard-… and copy a comment; only the login's user can have
      // submitted benchyard's holders.
      if (
        job.user !== login.user ||
        !provesOwnership(job.comment, { key: ref.ledgerKey, session: ref.session })
      )
        throw new OwnershipError(
          `Slurm job ${ref.id} (${job.name}, user ${job.user}) does not carry benchyard's identity for ${ref.ledgerKey ?? ref.session}`,
        );
      await this.removeNodeContainers(ref, job.node, signal);
      if (!ENDED_STATES.has(job.state)) await login.cluster.cancelConfirmed(job.id, this.ctx.clock);
    } finally {
      await this.logins.letGo(login);
    }
  }

  /** A job Slurm no longer knows, or that ended, holds nothing. */
  async absent(ref: ResourceRef, signal: AbortSignal): Promise<boolean> {
    if (!ref.id) return false;
    const opening = this.logins.takeRecorded(ref.details ?? {}, signal);
    if (!opening) return false;
    const login = await opening;
    try {
      const job = (await login.cluster.jobs({ ids: [ref.id] }, signal))[0];
      return !job || ENDED_STATES.has(job.state);
    } finally {
      await this.logins.letGo(login);
    }
  }

  private async removeNodeContainers(
    ref: ResourceRef,
    node: string | undefined,
    signal: AbortSignal,
  ): Promise<void> {
    const d = ref.details ?? {};
    const address = typeof d.nodeAddress === 'string' ? d.nodeAddress : node;
    if (!address || !ref.session) return;
    const login = endpointFromLogin(d);
    const endpoint = {
      ...nodeEndpoint(address, node ?? address, login, this.ctx.sshAgentSocket),
      readyTimeoutMs: 30_000,
    };
    if (typeof d.nodeDockerSocket === 'string') endpoint.dockerSocket = d.nodeDockerSocket;
    const session = await this.ctx.connector.connect(endpoint, signal);
    try {
      await new DockerEngine(session.docker, address).removeLabelled([`${LABELS.session}=${ref.session}`]);
    } finally {
      await session.close();
    }
  }
}

/** The node details an open entry recorded (its address, its engine's socket). */
function nodeDetailsOf(hints: readonly ResourceRef[], key: string): Record<string, unknown> {
  const d = hints.find((h) => h.ledgerKey === key)?.details ?? {};
  return Object.fromEntries(Object.entries(d).filter(([k]) => k.startsWith('node')));
}

/** The login's SSH settings as recorded, for reaching its nodes the same way. */
function endpointFromLogin(d: Readonly<Record<string, unknown>>) {
  return {
    ...(typeof d.user === 'string' ? { user: d.user } : {}),
    ...(typeof d.port === 'number' ? { port: d.port } : {}),
    ...(typeof d.keyFile === 'string' ? { keyFile: d.keyFile } : {}),
    ...(typeof d.agent === 'string' ? { agent: d.agent } : {}),
    ...(typeof d.knownHostsFile === 'string' ? { knownHosts: d.knownHostsFile } : {}),
    hostKeyCheck: d.verifyHostKey === false ? ('off' as const) : ('strict' as const),
    dockerSocket: typeof d.dockerSocket === 'string' ? d.dockerSocket : '/var/run/docker.sock',
    connectTimeoutMs: 30_000,
  };
}

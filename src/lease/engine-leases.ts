/**
 * Machine leases held on the machine's own Docker engine, so that every controller that
 * reaches the machine agrees, whatever its state folder (see docs/leases.md):
 *
 * - The lease is a container named `benchyard-lease`, created and never started. A name is
 *   unique per engine, so creating it is the atomic "take"; a second create answers 409.
 * - Who holds it is in the container's labels (session, owner, controller host and pid,
 *   since); until when is in `/lease.json` inside it, rewritten by the holder's heartbeat
 *   every ttl/4 through the archive API (works on a created container).
 * - Every time is the machine's clock: each controller measures its offset from the engine's
 *   `SystemTime` (`docker info`), so a controller whose own clock is off still agrees.
 * - A lease not renewed past its expiry is taken over: the old container is removed *by its
 *   id* (a compare-and-swap: of two controllers taking over at once, the second's removal
 *   answers 404 and its create 409), with a warning; the old holder's containers there are
 *   removed. A holder whose heartbeat finds its container gone has lost the machine.
 * - Two names for one engine (`docker info` ID) in one controller are one machine: refused
 *   unless both allow sharing, and then counted once.
 */
import type Docker from 'dockerode';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { extract, pack } from 'tar-stream';
import {
  InfrastructureError,
  InputError,
  LABELS,
  MachineBusyError,
  removeContainer,
  removeLabelled,
  describeHolder,
  errorMessage,
  type LeaseHolder,
  type LeaseRequest,
  type Logger,
  type MachineLease,
  type MachineLeases,
} from '../core/index.js';
import { dockerMessage, statusOf } from '../engine/docker-errors.js';
import { ensureLeaseImage, LEASE_IMAGE } from './lease-image.js';

export const LEASE_CONTAINER = 'benchyard-lease';

/** Tries to take a lease that keeps changing hands (or is being created) before giving up: ~5 s. */
const MAX_ATTEMPTS = 10;

/** Labels of the lease container (holder facts never change while it holds). */
export const LEASE_LABELS = {
  lease: 'io.benchyard.lease',
  token: 'io.benchyard.lease.token',
  machine: 'io.benchyard.lease.machine',
  owner: 'io.benchyard.lease.owner',
  since: 'io.benchyard.lease.since',
  /** The first expiry; `/lease.json` carries the renewed one. */
  expiresAt: 'io.benchyard.lease.expires-at',
} as const;

const LEASE_FILE = 'lease.json';

export interface EngineLeasesOptions {
  session: string;
  owner: string;
  logger: Logger;
  /** A lease not renewed for this long may be taken over. @default 60000 */
  ttlMs?: number;
  /** This controller's clock (only offsets from the machine's clock are used). @default Date.now */
  now?: () => number;
}

/** A lease as read from the machine. */
interface Observed extends LeaseHolder {
  containerId: string;
  token: string;
  expired: boolean;
}

/** One engine this controller holds, shared by the machines (names) that reach it. */
interface Held {
  engineId: string;
  containerId: string;
  token: string;
  holder: LeaseHolder;
  docker: Docker;
  offsetMs: number;
  machines: { machine: string; target: string; shareEngine: boolean }[];
  lost: AbortController;
  timer?: NodeJS.Timeout;
  renewing?: Promise<void>;
}

export class EngineLeases implements MachineLeases {
  private readonly held = new Map<string, Held>();
  /** Takes in flight per engine, so two machines of one engine never race each other. */
  private readonly taking = new Map<string, Promise<unknown>>();
  readonly ttlMs: number;
  private readonly now: () => number;

  constructor(private readonly o: EngineLeasesOptions) {
    this.ttlMs = o.ttlMs ?? 60_000;
    this.now = o.now ?? Date.now;
  }

  async take(docker: Docker, req: LeaseRequest): Promise<MachineLease> {
    const { engineId, offsetMs } = await engineClock(docker, req.signal, this.now);
    for (;;) {
      const before = this.taking.get(engineId);
      if (!before) break;
      await before.catch(() => undefined);
    }
    const attempt = this.takeEngine(docker, engineId, offsetMs, req);
    this.taking.set(engineId, attempt);
    try {
      return await attempt;
    } finally {
      if (this.taking.get(engineId) === attempt) this.taking.delete(engineId);
    }
  }

  async read(docker: Docker, signal: AbortSignal): Promise<(LeaseHolder & { expired: boolean }) | undefined> {
    const { offsetMs } = await engineClock(docker, signal, this.now);
    const seen = await observe(docker, offsetMs, this.now);
    if (!seen) return undefined;
    const { containerId: _c, token: _t, ...holder } = seen;
    return holder;
  }

  private async takeEngine(
    docker: Docker,
    engineId: string,
    offsetMs: number,
    req: LeaseRequest,
  ): Promise<MachineLease> {
    const mine = this.held.get(engineId);
    if (mine) return this.share(mine, req);
    await ensureLeaseImage(docker, req.signal);
    const token = randomBytes(8).toString('hex');
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      req.signal.throwIfAborted();
      const now = this.now() + offsetMs;
      const holder: LeaseHolder = {
        session: this.o.session,
        owner: this.o.owner,
        host: os.hostname(),
        pid: process.pid,
        since: new Date(now).toISOString(),
        expiresAt: new Date(now + this.ttlMs).toISOString(),
        machine: req.machine,
      };
      let containerId: string;
      try {
        containerId = (await docker.createContainer(leaseSpec(holder, token))).id;
      } catch (err) {
        if (statusOf(err) !== 409) throw leaseFailure(req.machine, 'creating the lease', err);
        const seen = await observe(docker, offsetMs, this.now);
        if (!seen) {
          // Released just now, or still being created by another controller: the engine
          // reserves the name (409) before the container can be inspected. Again, shortly.
          await sleep(Math.min(1_000, 50 * 2 ** attempt), undefined, { signal: req.signal });
          continue;
        }
        // A lease this very process left (its release failed) is provably stale.
        const ownLeftover =
          seen.session === this.o.session && seen.pid === process.pid && seen.host === os.hostname();
        if (!seen.expired && !ownLeftover)
          throw new MachineBusyError([{ machine: req.machine, holder: seen }]);
        await this.takeOver(docker, seen, req.machine);
        continue;
      }
      const held: Held = {
        engineId,
        containerId,
        token,
        holder,
        docker,
        offsetMs,
        machines: [{ machine: req.machine, target: req.target, shareEngine: req.shareEngine }],
        lost: new AbortController(),
      };
      try {
        await writeLeaseFile(docker.getContainer(containerId), { token, expiresAt: holder.expiresAt });
      } catch (err) {
        await removeContainer(docker, containerId).catch(() => undefined);
        throw leaseFailure(req.machine, 'writing the lease', err);
      }
      this.held.set(engineId, held);
      held.timer = setInterval(() => void this.renew(held), Math.max(250, this.ttlMs / 4));
      held.timer.unref();
      return this.handle(held);
    }
    throw new InfrastructureError(`${req.machine}: could not take its lease (it kept changing hands)`);
  }

  /** A second name for an engine this controller holds: one machine when both allow it. */
  private share(held: Held, req: LeaseRequest): MachineLease {
    const first = held.machines[0]!;
    if (!req.shareEngine || !first.shareEngine)
      throw new InputError(
        `'${req.machine}' (target '${req.target}') and '${first.machine}' (target '${first.target}') reach the same Docker engine (ID ${held.engineId}): they are one machine, and benchmarks on it would disturb each other. Give each its own machine, or set 'shareEngine: true' in the matrix to run them as one machine`,
        { engine: held.engineId, machines: [first.machine, req.machine] },
      );
    held.machines.push({ machine: req.machine, target: req.target, shareEngine: true });
    return this.handle(held);
  }

  private handle(held: Held): MachineLease {
    let released = false;
    return {
      engineId: held.engineId,
      holder: held.holder,
      lost: held.lost.signal,
      release: async () => {
        if (released) return;
        released = true;
        held.machines.pop();
        if (held.machines.length > 0) return;
        clearInterval(held.timer);
        this.held.delete(held.engineId);
        await held.renewing;
        await removeContainer(held.docker, held.containerId).catch((err: unknown) =>
          this.o.logger.warn(
            `returning the lease of ${held.holder.machine}: ${errorMessage(err)}; it expires by itself at ${held.holder.expiresAt}`,
          ),
        );
      },
    };
  }

  /** The heartbeat: pushes the expiry on; a lease whose container is gone is lost. */
  private async renew(held: Held): Promise<void> {
    if (held.renewing || held.lost.signal.aborted) return;
    held.renewing = (async () => {
      const now = this.now() + held.offsetMs;
      const expiresAt = new Date(now + this.ttlMs).toISOString();
      try {
        await writeLeaseFile(held.docker.getContainer(held.containerId), { token: held.token, expiresAt });
        held.holder.expiresAt = expiresAt;
      } catch (err) {
        if (statusOf(err) === 404) return this.lose(held, 'its lease was removed from the machine');
        if (now > Date.parse(held.holder.expiresAt))
          return this.lose(held, `its lease could not be renewed in time: ${dockerMessage(err)}`);
        this.o.logger.warn(
          `renewing the lease of ${held.holder.machine} failed: ${dockerMessage(err)}; retrying`,
        );
      }
    })().finally(() => (held.renewing = undefined));
    await held.renewing;
  }

  private lose(held: Held, why: string): void {
    clearInterval(held.timer);
    this.held.delete(held.engineId);
    this.o.logger.error(`lost the machine ${held.holder.machine}: ${why}; what runs there is stopped`);
    held.lost.abort(new InfrastructureError(`machine ${held.holder.machine} lost: ${why}`));
  }

  /** An expired lease: remove it by id (compare-and-swap) and what its holder left running. */
  private async takeOver(docker: Docker, seen: Observed, machine: string): Promise<void> {
    this.o.logger.warn(
      `taking over ${machine} from ${describeHolder(seen)}: its lease expired at ${seen.expiresAt} without renewal`,
    );
    if (!(await removeContainer(docker, seen.containerId))) return; // someone else took it over first
    // What the old holder left running there (checked on the engine's answer, not its filter).
    const left = await removeLabelled(docker, [`${LABELS.session}=${seen.session}`]);
    if (left > 0) this.o.logger.warn(`removed ${left} containers the previous holder left on ${machine}`);
  }
}

/** The engine's identity and how far its clock is ahead of this one (half a round trip). */
export async function engineClock(
  docker: Docker,
  signal: AbortSignal,
  now: () => number = Date.now,
): Promise<{ engineId: string; offsetMs: number }> {
  signal.throwIfAborted();
  const t0 = now();
  const info = (await docker.info()) as { ID?: string; SystemTime?: string };
  const t1 = now();
  if (!info.ID) throw new InfrastructureError('the Docker engine reports no ID');
  const engineTime = info.SystemTime ? Date.parse(info.SystemTime) : NaN;
  return { engineId: info.ID, offsetMs: Number.isFinite(engineTime) ? engineTime - (t0 + t1) / 2 : 0 };
}

function leaseSpec(holder: LeaseHolder, token: string): Docker.ContainerCreateOptions {
  return {
    name: LEASE_CONTAINER,
    Image: LEASE_IMAGE,
    // Never started: the image holds no program.
    Cmd: ['/benchyard-lease'],
    Labels: {
      [LEASE_LABELS.lease]: '1',
      [LEASE_LABELS.token]: token,
      [LEASE_LABELS.machine]: holder.machine ?? '',
      [LEASE_LABELS.owner]: holder.owner,
      [LEASE_LABELS.since]: holder.since,
      [LEASE_LABELS.expiresAt]: holder.expiresAt,
      [LABELS.session]: holder.session,
      [LABELS.controllerHost]: holder.host,
      [LABELS.controllerPid]: String(holder.pid),
    },
    HostConfig: { NetworkMode: 'none' },
  };
}

/** The lease on the engine now, with `expired` judged on the machine's clock. */
async function observe(docker: Docker, offsetMs: number, now: () => number): Promise<Observed | undefined> {
  let info: Docker.ContainerInspectInfo;
  try {
    info = await docker.getContainer(LEASE_CONTAINER).inspect();
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    throw err;
  }
  const l = info.Config.Labels ?? {};
  // A container of that name that is not a benchyard lease is someone else's: never judged
  // expired, never taken over or removed.
  if (l[LEASE_LABELS.lease] !== '1')
    throw new InfrastructureError(
      `the Docker engine has a container named '${LEASE_CONTAINER}' (${info.Id.slice(0, 12)}) that is not a benchyard lease; benchyard does not touch it: rename or remove it yourself`,
      { container: info.Id },
    );
  const file = await readLeaseFile(docker.getContainer(info.Id)).catch(() => undefined);
  const token = l[LEASE_LABELS.token] ?? '';
  const expiresAt =
    file?.token === token && file.expiresAt ? file.expiresAt : (l[LEASE_LABELS.expiresAt] ?? info.Created);
  return {
    containerId: info.Id,
    token,
    session: l[LABELS.session] ?? '?',
    owner: l[LEASE_LABELS.owner] ?? '?',
    host: l[LABELS.controllerHost] ?? '?',
    pid: Number(l[LABELS.controllerPid] ?? 0),
    since: l[LEASE_LABELS.since] ?? info.Created,
    expiresAt,
    ...(l[LEASE_LABELS.machine] ? { machine: l[LEASE_LABELS.machine] } : {}),
    expired: now() + offsetMs > Date.parse(expiresAt),
  };
}

async function writeLeaseFile(container: Docker.Container, body: { token: string; expiresAt: string }) {
  const data = Buffer.from(JSON.stringify(body));
  const tar = pack();
  tar.entry({ name: LEASE_FILE, size: data.length, mode: 0o644 }, data);
  tar.finalize();
  const chunks: Buffer[] = [];
  for await (const c of tar as AsyncIterable<Buffer>) chunks.push(c);
  await container.putArchive(Buffer.concat(chunks), { path: '/' });
}

async function readLeaseFile(container: Docker.Container): Promise<{ token?: string; expiresAt?: string }> {
  const archive = (await container.getArchive({
    path: `/${LEASE_FILE}`,
  })) as unknown as NodeJS.ReadableStream;
  const tar = extract();
  Readable.from(archive as AsyncIterable<Buffer>).pipe(tar);
  for await (const entry of tar) {
    const chunks: Buffer[] = [];
    for await (const c of entry as AsyncIterable<Buffer>) chunks.push(c);
    if (entry.header.name.endsWith(LEASE_FILE))
      return JSON.parse(Buffer.concat(chunks).toString('utf8')) as { token?: string; expiresAt?: string };
  }
  return {};
}

function leaseFailure(machine: string, what: string, err: unknown): InfrastructureError {
  return new InfrastructureError(`${machine}: ${what} failed: ${dockerMessage(err)}`, {}, { cause: err });
}

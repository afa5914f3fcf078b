/**
 * Leases of machines that exist already (an SSH host, a pool member, this machine): the
 * lease lives on the machine itself, so any number of controllers, whatever their state
 * folders, agree on who holds it. The protocol is the adapter's (`src/lease`); this is
 * what providers and commands see of it.
 */
import type Docker from 'dockerode';
import type { Clock, Logger } from './ports.js';
import { MachineBusyError } from './errors.js';

/** Who holds a machine, as read from the machine. Times are the machine's clock (ISO 8601). */
export interface LeaseHolder {
  session: string;
  owner: string;
  /** The controller's host name and process id. */
  host: string;
  pid: number;
  since: string;
  /** Until when it holds without being renewed. */
  expiresAt: string;
  /** What the holder calls the machine (target and host), for messages. */
  machine?: string;
}

/** A lease this controller holds. Release is idempotent. */
export interface MachineLease {
  /** The Docker engine's identity (`docker info` ID): two names for one engine are one machine. */
  readonly engineId: string;
  readonly holder: LeaseHolder;
  /** Aborted when the lease is no longer ours (not renewed in time, or taken over). */
  readonly lost: AbortSignal;
  release(): Promise<void>;
}

export interface LeaseRequest {
  /** How this controller names the machine, e.g. `ssh:root@10.0.0.12:22`. */
  machine: string;
  /** The target it is acquired for. */
  target: string;
  /**
   * Whether this machine may be the same engine as another machine this controller holds
   * (the matrix's `shareEngine: true`): then both are one machine for leasing and
   * concurrency. Otherwise a second name for a held engine is refused (InputError).
   */
  shareEngine: boolean;
  signal: AbortSignal;
}

export interface MachineLeases {
  /**
   * Takes the lease of the machine whose Docker engine `docker` reaches. Throws
   * `MachineBusyError` (with the holder) when another controller holds it, `InputError`
   * when this controller holds it already under another name and sharing was not allowed.
   */
  take(docker: Docker, request: LeaseRequest): Promise<MachineLease>;
  /** Who holds the machine now (without taking it); `undefined` when free. */
  read(docker: Docker, signal: AbortSignal): Promise<(LeaseHolder & { expired: boolean }) | undefined>;
}

/** A holder, for people: `session s-1 of owner ann@laptop (pid 42 on laptop) since …`. */
export function describeHolder(h: LeaseHolder): string {
  return `session ${h.session} of owner ${h.owner} (pid ${h.pid} on ${h.host}) since ${h.since}`;
}

/**
 * Calls `attempt` until it yields a machine, waiting while every candidate is held by
 * another controller (`MachineBusyError`): says once per holder who it waits for, then polls.
 * Without `wait`, the first busy answer is thrown.
 */
export async function waitForMachine<T>(
  attempt: () => Promise<T>,
  o: {
    wait: boolean;
    pollMs: number;
    clock: Clock;
    logger: Logger;
    signal: AbortSignal;
    /** Where the waiting line goes. @default logger.info */
    progress?: (line: string) => void;
  },
): Promise<T> {
  let told = '';
  for (;;) {
    o.signal.throwIfAborted();
    try {
      return await attempt();
    } catch (err) {
      if (!(err instanceof MachineBusyError) || !o.wait) throw err;
      if (err.waiting !== told) (o.progress ?? o.logger.info)(err.waiting);
      told = err.waiting;
    }
    await o.clock.sleep(o.pollMs, o.signal);
  }
}

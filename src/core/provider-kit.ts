/**
 * The provider kit: what every provider is built with (`ProviderContext`) and the ledger
 * sequence around each resource it creates or holds (`TrackedEntry`).
 *
 * The sequence. `recordIntent` writes the entry, durably, *before* the create call, whose
 * request carries `entry.key` where the provider keeps it whatever happens (idempotency
 * token, tag, host name). `entry.create(call, judge)` sends the call and records what came
 * of it: an answer makes the entry `active`; a failure the provider proves created nothing
 * (a definite refusal, a request that never left this machine) closes it `failed`; any other
 * failure leaves it open with a note, and the provider settles it (finds the resource by its
 * key and takes it down) or, failing that, `gc` does. Teardown marks it `releasing` once the
 * object proved to be the entry's, and `released()` once the provider confirms it is gone.
 * A closed entry stays closed: every later step on it is a no-op, so closing twice is safe.
 */
import { errorMessage } from './errors.js';
import type { MachineLeases } from './lease.js';
import type { Ledger, LedgerEntry, LedgerIntent, LedgerPatch } from './ledger.js';
import type { PoolDirectory } from './pools.js';
import type { Clock, Logger } from './ports.js';
import type { HourlyPrice, PriceQuery } from './prices.js';
import type { MachineConnector } from './ssh.js';

/** What every provider is constructed with by the composition root. */
export interface ProviderContext {
  ledger: Ledger;
  connector: MachineConnector;
  /** How long machines may live; cloud machines switch themselves off at this time. */
  maxLifetimeMs: number;
  clock: Clock;
  logger: Logger;
  /**
   * The ssh-agent socket a target's `ssh.agent: true` stands for: the controller's
   * `SSH_AUTH_SOCK`, read by the composition root. Absent: no agent.
   */
  sshAgentSocket?: string;
  /**
   * Where to reach a provisioned machine: default the address the cloud reports. Tests
   * point it at local SSH hosts (`BENCHYARD_TEST_ADDRESSES`).
   */
  resolveAddress?: (machine: { key: string; publicIp?: string; privateIp?: string }) => string;
  /** Hourly price of an instance type from the price table, where it lists one. */
  price?: (query: PriceQuery) => HourlyPrice | undefined;
  /** Named pools of machines (`benchyard pool`), read at run time by targets with `pool:`. */
  pools?: PoolDirectory;
  /**
   * Leases on machines that exist already (SSH hosts, pool members, this machine), held on
   * the machines themselves so that every controller agrees.
   */
  leases?: MachineLeases;
  /** How often a machine held by another controller is looked at again. @default 2000 */
  leasePollMs?: number;
  /** Progress a user watching should see whatever the log level (`waiting for lab-1, held by …`). */
  progress?: (line: string) => void;
}

/**
 * Where an entry is in its sequence. `intended`: written, no answer yet; `unknown`: the
 * create call failed in a way that may have created the resource; `closed`: released or failed.
 */
export type EntryPhase = 'intended' | 'unknown' | 'active' | 'releasing' | 'closed';

/** What the ledger records of an answer or along the way (never the status: the methods set it). */
export type EntryNote = Omit<LedgerPatch, 'status'>;

/** How `TrackedEntry.create` reads the create call's answer and failures. */
export interface CreateJudge<T> {
  /** What the ledger records of the answer (the provider's id, where it gave one). */
  created(answer: T): EntryNote;
  /**
   * Why the failed call provably created nothing (a definite refusal, a request that never
   * left this machine), with details to record; `undefined` when it may have created it.
   */
  notCreated(err: unknown): string | { reason: string; details?: Record<string, unknown> } | undefined;
}

/** What came of the create call; the entry records it already. */
export type CreateOutcome<T> =
  | { created: true; answer: T }
  | {
      created: false;
      /** `unknown`: it may exist; the entry stays open for the provider to settle, else for gc. */
      outcome: 'not-created' | 'unknown';
      error: unknown;
    };

/** One ledger entry through the life of its resource. Dispose it where acquiring ends. */
export class TrackedEntry implements Disposable {
  readonly key: string;
  readonly session: string;
  readonly owner: string;
  readonly expiresAt: string;
  private current: EntryPhase;

  constructor(
    private readonly ledger: Ledger,
    entry: LedgerEntry,
  ) {
    this.key = entry.key;
    this.session = entry.session;
    this.owner = entry.owner;
    this.expiresAt = entry.expiresAt;
    this.current = phaseOf(entry);
  }

  get phase(): EntryPhase {
    return this.current;
  }

  /**
   * Sends the create call and records its outcome (see the file comment). Ledger write
   * failures throw, except recording an answer: then the resource exists unrecorded, and
   * the outcome is `unknown` so the provider takes it down like an unanswered call.
   */
  async create<T>(call: () => Promise<T>, judge: CreateJudge<T>): Promise<CreateOutcome<T>> {
    let answer: T;
    try {
      answer = await call();
    } catch (error) {
      const refused = judge.notCreated(error);
      if (refused === undefined) return this.unknown(error);
      if (typeof refused === 'string') this.abandon(refused);
      else this.abandon(refused.reason, refused.details);
      return { created: false, outcome: 'not-created', error };
    }
    try {
      this.active(judge.created(answer));
    } catch (error) {
      return this.unknown(error);
    }
    return { created: true, answer };
  }

  /** Facts learned on the way (host name, zone, an error), without changing the status. */
  note(patch: EntryNote): void {
    if (this.current !== 'closed') this.ledger.update(this.key, patch);
  }

  /** The resource exists (the create call answered, or it was found by its key). */
  active(patch: EntryNote = {}): void {
    if (this.current === 'closed') return;
    this.ledger.update(this.key, { ...patch, status: 'active' });
    this.current = 'active';
  }

  /** The object proved to be this entry's and its teardown starts. */
  releasing(): void {
    if (this.current === 'closed') return;
    this.ledger.update(this.key, { status: 'releasing' });
    this.current = 'releasing';
  }

  /** The provider confirmed the resource is gone. */
  released(): void {
    if (this.current === 'closed') return;
    this.ledger.close(this.key, 'released');
    this.current = 'closed';
  }

  /** The provider provably holds nothing of it (refused, never sent, never created). */
  abandon(reason: string, details?: Record<string, unknown>): void {
    if (this.current === 'closed') return;
    if (details) this.ledger.update(this.key, { details });
    this.ledger.close(this.key, 'failed', reason);
    this.current = 'closed';
  }

  /** Acquiring ended without saying what came of the create call: left open for gc, noted. */
  [Symbol.dispose](): void {
    if (this.current === 'intended') this.tryNote('acquiring ended without an outcome; left open for gc');
  }

  private unknown(error: unknown): CreateOutcome<never> {
    this.current = 'unknown';
    this.tryNote(`outcome unknown: ${errorMessage(error)}; left open until the provider shows it gone`);
    return { created: false, outcome: 'unknown', error };
  }

  /** A note is worth writing, not worth failing for: the open entry is what gc needs. */
  private tryNote(error: string): void {
    try {
      this.note({ error });
    } catch {
      // the ledger cannot be written: the entry stays as it was, open
    }
  }
}

/** Writes the entry before the create call; `expiresAt` is when the resource must be gone. */
export function recordIntent(ledger: Ledger, intent: LedgerIntent, expiresAt: Date): TrackedEntry {
  return new TrackedEntry(ledger, ledger.intend(intent, expiresAt));
}

/**
 * Records something held that no create call made (a lease on a machine that exists): the
 * intent and the answer at once, once it is held.
 */
export function recordHeld(
  ledger: Ledger,
  intent: LedgerIntent,
  expiresAt: Date,
  answer: EntryNote,
): TrackedEntry {
  const entry = recordIntent(ledger, intent, expiresAt);
  entry.active(answer);
  return entry;
}

/** The entry `key` of this ledger, to move along (release, gc); `undefined` where it has none. */
export function trackEntry(ledger: Ledger, key: string): TrackedEntry | undefined {
  const entry = ledger.get(key);
  return entry && new TrackedEntry(ledger, entry);
}

function phaseOf(e: LedgerEntry): EntryPhase {
  switch (e.status) {
    case 'creating':
      return 'intended';
    case 'released':
    case 'failed':
      return 'closed';
    default:
      return e.status;
  }
}

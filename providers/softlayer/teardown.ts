/**
 * Cancelling a machine and waiting until SoftLayer confirms it: a guest is confirmed once
 * getObject answers ObjectNotFound, bare metal once its billing item is gone (see
 * `machine-kinds.ts` for why). Used by release, by the clean-up of a failed acquire, and by
 * `gc`'s destroy; safe to repeat.
 *
 * Nothing is cancelled before the machine, read back by its id, proves to be the ledger
 * entry's (identity.ts); otherwise OwnershipError, and no cancel call is made.
 *
 * A bare metal order whose id is not known yet (its createObject reply was lost, or the
 * order is still pending) is waited for within the teardown's time limit: while it may still
 * turn up, giving up would leave a server billed by the hour that nobody cancels. It counts as
 * never created once the API says its globalIdentifier does not exist, or once `listedBy` (the
 * order's own provisioning deadline) has passed without the account listing it.
 */
import {
  InfrastructureError,
  OwnershipError,
  errorMessage,
  formatDuration,
  type Clock,
  type Logger,
  type TrackedEntry,
} from '../../src/core/index.js';
import type { SoftlayerClient } from './client.js';
import { mismatch, type Expected } from './identity.js';
import { findByName, hardwareOrder } from './lookup.js';
import { KINDS, type KindName } from './machine-kinds.js';
import { pollUntil } from './order.js';
import { hostnameFor } from './tags.js';

/** A machine to cancel: the ledger entry it belongs to, and its id where known. */
export interface CancelTarget {
  key: string;
  kind: KindName;
  endpoint: string;
  id?: number;
  /** Bare metal: the order's identifier, known once createObject answered. */
  globalIdentifier?: string;
  domain: string;
  session?: string;
  /** Whether the machine must carry the ledger-key tag (no ledger entry vouches for the name). */
  tagged?: boolean;
  /** Bare metal without an id: clock time after which an order not listed never will be. */
  listedBy?: number;
  pollIntervalMs: number;
  /** How long cancelling (including waiting for a running transaction) may take. */
  teardownMs: number;
}

/**
 * Resolves `cancelled` once confirmed, `never-created` when the order provably made no
 * machine. Throws OwnershipError for a machine that is not the entry's, and a plain error
 * when the cancellation cannot be confirmed in time. `proven` is called once the machine
 * proved to be the entry's, before the cancel call.
 */
export async function cancelAndConfirm(
  client: SoftlayerClient,
  t: CancelTarget,
  deps: { clock: Clock; logger: Logger; proven?: () => void },
  signal: AbortSignal,
): Promise<'cancelled' | 'never-created'> {
  const { clock, logger } = deps;
  const kind = KINDS[t.kind];
  const deadline = clock.now() + t.teardownMs;
  const poll = { intervalMs: t.pollIntervalMs, deadline, clock, signal };
  const want: Expected = {
    ledgerKey: t.key,
    ...(t.domain ? { domain: t.domain } : {}),
    ...(t.session ? { session: t.session } : {}),
    ...(t.tagged ? { tagged: true } : {}),
  };
  if (t.id === undefined) {
    const found = await pollUntil(() => locate(client, t, want, clock, signal), poll);
    if (found === 'never-created') return found;
    if (found === undefined)
      throw new Error(
        `${hostnameFor(t.key)} is not listed after ${formatDuration(t.teardownMs)}; its order may still turn up`,
      );
    t.id = found;
  }
  const id = t.id;
  const before = await kind.status(client, id, signal);
  if (before === 'gone') return 'cancelled'; // gone already (cancelled earlier, or by someone else)
  const why = mismatch(before, want);
  if (why)
    throw new OwnershipError(
      `softlayer ${kind.name} ${id} is not benchyard's ${hostnameFor(t.key)}: ${why}; left alone`,
      {
        id,
        key: t.key,
      },
    );
  deps.proven?.();
  const wait = async () => {
    if (clock.now() >= deadline)
      throw new Error(`${kind.name} ${id} still ran a transaction after ${formatDuration(t.teardownMs)}`);
    await clock.sleep(t.pollIntervalMs, signal);
  };
  logger.info(`softlayer: cancelling ${kind.name} ${id}`, { key: t.key });
  await kind.cancel(client, id, wait, signal);
  const done = await pollUntil(
    async () => (kind.isCancelled(await kind.status(client, id, signal)) ? true : undefined),
    poll,
  );
  if (!done)
    throw new Error(
      `cancellation of ${kind.name} ${id} not confirmed within ${formatDuration(t.teardownMs)}`,
    );
  logger.info(`softlayer: ${kind.name} ${id} is cancelled`, { key: t.key });
  return 'cancelled';
}

/** One look for the machine: its id, `never-created`, or `undefined` (not listed yet). */
async function locate(
  client: SoftlayerClient,
  t: CancelTarget,
  want: Expected,
  clock: Clock,
  signal: AbortSignal,
): Promise<number | 'never-created' | undefined> {
  if (t.kind === 'hardware' && t.globalIdentifier) {
    const order = await hardwareOrder(client, t.globalIdentifier, want, signal);
    return order === 'gone' ? 'never-created' : order;
  }
  const id = await findByName(client, t.kind, want, signal);
  if (id !== undefined) return id;
  // A guest is listed as soon as createObject answers; a bare metal order only once processed.
  if (t.kind === 'virtual-guest') return 'never-created';
  return t.listedBy !== undefined && clock.now() >= t.listedBy ? 'never-created' : undefined;
}

/**
 * Cancels and confirms, keeping the ledger entry (where this ledger has one) in step:
 * `releasing` once the machine proved to be the entry's, closed once SoftLayer confirms
 * (`failed` when it was never created); a closed entry stays closed. Idempotent. An
 * OwnershipError passes through as it is: the machine was not touched.
 */
export async function teardownEntry(
  client: SoftlayerClient,
  t: CancelTarget,
  deps: { entry: TrackedEntry | undefined; clock: Clock; logger: Logger },
  signal: AbortSignal,
): Promise<void> {
  const { entry } = deps;
  let outcome: 'cancelled' | 'never-created';
  try {
    outcome = await cancelAndConfirm(client, t, { ...deps, proven: () => entry?.releasing() }, signal);
  } catch (err) {
    const message = `releasing softlayer ${t.kind} ${t.id ?? hostnameFor(t.key)} failed: ${errorMessage(err)}`;
    entry?.note({ error: message });
    if (signal.aborted || err instanceof OwnershipError) throw err;
    throw new InfrastructureError(message, { key: t.key, endpoint: t.endpoint }, { cause: err });
  }
  if (outcome === 'cancelled') entry?.released();
  else entry?.abandon(`${hostnameFor(t.key)} was never created`);
}

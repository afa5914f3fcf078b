/**
 * Cancelling a machine and waiting until SoftLayer confirms it: a guest is confirmed once
 * getObject answers ObjectNotFound, bare metal once its billing item is gone (see
 * `machine-kinds.ts` for why). Used by release, by the clean-up of a failed acquire, and by
 * `gc`'s destroy; safe to repeat.
 */
import { formatDuration, type Clock, type Logger } from '../../src/core/index.js';
import type { SoftlayerClient } from './client.js';
import { KINDS, type KindName } from './machine-kinds.js';
import { pollUntil } from './order.js';

/** A machine to cancel: its id, or the host name and domain to look it up by. */
export interface CancelTarget {
  key: string;
  kind: KindName;
  endpoint: string;
  id?: number;
  hostname: string;
  domain: string;
  pollIntervalMs: number;
  /** How long cancelling (including waiting for a running transaction) may take. */
  teardownMs: number;
}

/**
 * Resolves `cancelled` once confirmed, `never-created` when no such guest exists. Throws when
 * it cannot be confirmed in time, or when a bare metal order is not listed (yet).
 */
export async function cancelAndConfirm(
  client: SoftlayerClient,
  t: CancelTarget,
  deps: { clock: Clock; logger: Logger },
  signal: AbortSignal,
): Promise<'cancelled' | 'never-created'> {
  const { clock, logger } = deps;
  const kind = KINDS[t.kind];
  const deadline = clock.now() + t.teardownMs;
  if (t.id === undefined && t.hostname) t.id = (await kind.find(client, t.hostname, t.domain, signal))?.id;
  if (t.id === undefined) {
    // A guest exists as soon as createObject answers; a bare metal order may still turn up.
    if (kind.name === 'hardware') throw new Error(`${t.hostname} is not listed (yet)`);
    return 'never-created';
  }
  const id = t.id;
  const wait = async () => {
    if (clock.now() >= deadline)
      throw new Error(`${kind.name} ${id} still ran a transaction after ${formatDuration(t.teardownMs)}`);
    await clock.sleep(t.pollIntervalMs, signal);
  };
  logger.info(`softlayer: cancelling ${kind.name} ${id}`, { key: t.key });
  await kind.cancel(client, id, wait, signal);
  const done = await pollUntil(
    async () => (kind.isCancelled(await kind.status(client, id, signal)) ? true : undefined),
    { intervalMs: t.pollIntervalMs, deadline, clock, signal },
  );
  if (!done)
    throw new Error(
      `cancellation of ${kind.name} ${id} not confirmed within ${formatDuration(t.teardownMs)}`,
    );
  logger.info(`softlayer: ${kind.name} ${id} is cancelled`, { key: t.key });
  return 'cancelled';
}

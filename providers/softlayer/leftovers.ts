/**
 * What `gc` asks of SoftLayer: find benchyard's leftovers (discover.ts), cancel one of them
 * once it proves to be the entry's (teardown.ts), and tell whether an entry left nothing
 * behind (absent.ts). Each answer is judged on what the API returned, never on a filter.
 */
import {
  InputError,
  OwnershipError,
  errorMessage,
  trackEntry,
  type ProviderContext,
  type ResourceRef,
} from '../../src/core/index.js';
import { provablyAbsent } from './absent.js';
import type { ClientPool } from './clients.js';
import { discoverAt } from './discover.js';
import { KINDS, type KindName } from './machine-kinds.js';
import { DEFAULTS } from './order.js';
import { knownOf } from './refs.js';
import { hostnameFor } from './tags.js';
import { teardownEntry, type CancelTarget } from './teardown.js';

export interface LeftoverDeps {
  ctx: ProviderContext;
  clients: ClientPool;
  /** Poll interval and time limit of `destroy`, which has no target options. */
  teardown: { pollIntervalMs?: number; timeoutMs?: number };
}

/** Looks where the ledger's entries were created (each records its endpoint), nowhere else. */
export async function discoverLeftovers(
  d: LeftoverDeps,
  opts: { session?: string; hints: readonly ResourceRef[]; signal: AbortSignal },
): Promise<ResourceRef[]> {
  const endpoints = new Set<string>();
  for (const hint of opts.hints) {
    const endpoint = hint.details?.endpoint;
    if (hint.provider === 'softlayer' && typeof endpoint === 'string')
      endpoints.add(await d.clients.endpoint(endpoint));
  }
  const refs: ResourceRef[] = [];
  for (const endpoint of endpoints)
    refs.push(...(await discoverAt(await d.clients.get(endpoint), { ...opts, logger: d.ctx.logger })));
  return refs;
}

/**
 * Cancels what `gc` found, once the machine read back by its id proves to be `ref`'s ledger
 * entry's (`by-<key>`, its domain and session where known, and benchyard's tag for the key
 * where this ledger has no such entry): a ref without a ledger key proves nothing and is
 * refused, and so is one whose session contradicts its ledger entry.
 */
export async function destroyLeftover(d: LeftoverDeps, ref: ResourceRef, signal: AbortSignal): Promise<void> {
  const kind = KINDS[ref.kind as KindName];
  if (!kind) throw new InputError(`softlayer cannot destroy a resource of kind '${ref.kind}'`, { ...ref });
  const entry = ref.ledgerKey ? d.ctx.ledger.get(ref.ledgerKey) : undefined;
  const known = knownOf(ref, entry);
  const refused = ref.ledgerKey ? known.conflict : "no ledger key, so nothing proves it is benchyard's";
  if (refused || !ref.ledgerKey)
    throw new OwnershipError(`softlayer ${ref.kind} ${ref.id}: ${refused}; left alone`, { id: ref.id });
  const endpoint = await d.clients.endpoint(known.endpoint);
  const defaults = DEFAULTS[kind.name === 'hardware' ? 'hardware' : 'virtual'];
  const { id, globalIdentifier, session, listedBy } = known;
  const target: CancelTarget = {
    key: ref.ledgerKey,
    kind: kind.name,
    endpoint,
    ...(id !== undefined ? { id } : {}),
    ...(globalIdentifier ? { globalIdentifier } : {}),
    domain: known.domain ?? '',
    ...(session ? { session } : {}),
    ...(known.vouched ? {} : { tagged: true }),
    ...(listedBy !== undefined ? { listedBy } : {}),
    pollIntervalMs: d.teardown.pollIntervalMs ?? defaults.pollIntervalMs,
    teardownMs: d.teardown.timeoutMs ?? defaults.teardownMs,
  };
  // Only this ledger's entry is moved along, and a closed one stays closed (provider-kit.ts).
  const tracked = trackEntry(d.ctx.ledger, ref.ledgerKey);
  await teardownEntry(await d.clients.get(endpoint), target, { ...d.ctx, entry: tracked }, signal);
}

/** `Provider.absent`: false whenever it cannot be told (absent.ts). */
export async function provablyGone(d: LeftoverDeps, ref: ResourceRef, signal: AbortSignal): Promise<boolean> {
  const kind = KINDS[ref.kind as KindName];
  if (!kind || !ref.ledgerKey) return false;
  const known = knownOf(ref, d.ctx.ledger.get(ref.ledgerKey));
  if (known.notDelivered) return true;
  try {
    const client = await d.clients.get(await d.clients.endpoint(known.endpoint));
    return await provablyAbsent(client, { ...known, ledgerKey: ref.ledgerKey, kind }, d.ctx.clock, signal);
  } catch (err) {
    if (signal.aborted) throw signal.reason;
    d.ctx.logger.warn(
      `softlayer: cannot tell whether ${hostnameFor(ref.ledgerKey)} is gone: ${errorMessage(err)}`,
    );
    return false;
  }
}

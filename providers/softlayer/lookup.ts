/**
 * Finding a machine benchyard ordered when its id is not known: by host name in the account's
 * lists, or, for bare metal, by the order's globalIdentifier. Every answer is judged with
 * identity.ts before it is used; a filter only saves traffic.
 *
 * - SoftLayer_Hardware::createObject answers `id: null` and a globalIdentifier: "Be sure to
 *   use the globalIdentifier as your initialization parameter" to poll the order
 *   (https://sldn.softlayer.com/reference/services/SoftLayer_Hardware/createObject/), until
 *   it has an id; an ObjectNotFound for it means the order is gone (refused after the fact).
 * - Account::getVirtualGuests / getHardware filtered by host name and domain, the way the SLDN
 *   examples find a new server; when the filtered answer holds no machine of ours, the whole
 *   unfiltered list is read too before "not there" is believed, because a filter the API
 *   misapplied must not make a machine look absent.
 */
import { OwnershipError } from '../../src/core/index.js';
import type { SoftlayerClient } from './client.js';
import { isNotFound } from './errors.js';
import { IDENTITY_MASK, carried, mismatch, namesEntry, type Expected, type Listed } from './identity.js';
import type { KindName } from './machine-kinds.js';
import { hostnameFor } from './tags.js';

export const ACCOUNT_LISTS: Record<KindName, { method: string; root: string }> = {
  'virtual-guest': { method: 'getVirtualGuests', root: 'virtualGuests' },
  hardware: { method: 'getHardware', root: 'hardware' },
};

/** The id of the entry's machine of `kind`, once the account lists it; `undefined` before. */
export async function findByName(
  client: SoftlayerClient,
  kind: KindName,
  want: Expected,
  signal: AbortSignal,
): Promise<number | undefined> {
  const { method, root } = ACCOUNT_LISTS[kind];
  const hostname = hostnameFor(want.ledgerKey);
  const pick = (items: Listed[]) => items.find((m) => m.id && !mismatch(carried(m), want))?.id ?? undefined;
  const where = want.domain ? { domain: { operation: want.domain } } : {};
  const filter = { [root]: { hostname: { operation: hostname }, ...where } };
  const filtered = await client.list<Listed>('SoftLayer_Account', method, {
    mask: IDENTITY_MASK,
    filter,
    signal,
  });
  return (
    pick(filtered) ??
    pick(await client.list<Listed>('SoftLayer_Account', method, { mask: IDENTITY_MASK, signal }))
  );
}

/**
 * A bare metal order by its globalIdentifier: its id once processed, `undefined` while it is
 * pending, `'gone'` when the API says it does not exist. Throws OwnershipError when the object
 * behind the identifier is not the entry's machine.
 */
export async function hardwareOrder(
  client: SoftlayerClient,
  globalIdentifier: string,
  want: Expected,
  signal: AbortSignal,
): Promise<number | 'gone' | undefined> {
  let order: Listed;
  try {
    order = await client.call<Listed>('SoftLayer_Hardware', 'getObject', {
      id: globalIdentifier,
      mask: IDENTITY_MASK,
      signal,
    });
  } catch (err) {
    if (isNotFound(err)) return 'gone';
    throw err;
  }
  if (!order.id) return undefined;
  const why = mismatch(carried(order), want);
  if (why)
    throw new OwnershipError(`bare metal order ${globalIdentifier} is not benchyard's: ${why}; left alone`, {
      globalIdentifier,
      ledgerKey: want.ledgerKey,
    });
  return order.id;
}

/**
 * Whether anything in the account, virtual or bare metal, names the ledger entry by host name
 * or tag, read from the unfiltered lists (which include machines whose cancellation is still
 * running: they stay listed until reclaimed).
 */
export async function anyNamed(client: SoftlayerClient, ledgerKey: string, signal: AbortSignal) {
  for (const { method } of Object.values(ACCOUNT_LISTS)) {
    const all = await client.list<Listed>('SoftLayer_Account', method, { mask: IDENTITY_MASK, signal });
    if (all.some((m) => namesEntry(carried(m), ledgerKey))) return true;
  }
  return false;
}

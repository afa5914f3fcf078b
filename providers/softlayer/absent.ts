/**
 * Whether SoftLayer provably holds nothing of a ledger entry, for `gc --forget KEY`: judged on
 * the API's own answers, never on a filter.
 *
 * - An order that never left this machine (the create call failed before a connection was
 *   made; recorded as `order: not-delivered`) created nothing.
 * - Otherwise both unfiltered account lists (virtual guests and bare metal, including those
 *   whose cancellation still runs) must hold nothing named `by-KEY` or tagged with KEY, and the
 *   machine's id and the bare metal order's globalIdentifier, where known, must answer
 *   ObjectNotFound.
 * - A bare metal order known by neither (its createObject reply was lost) is not listed
 *   while pending; it counts as absent only once its own provisioning deadline (`listedBy`)
 *   has passed: an order the account has not listed by then was not carried out.
 *
 * Anything that cannot be read (an error, a 404 without SoftLayer's ObjectNotFound) means
 * "cannot be told": false.
 */
import type { Clock } from '../../src/core/index.js';
import type { SoftlayerClient } from './client.js';
import { isNotFound } from './errors.js';
import { anyNamed } from './lookup.js';
import type { MachineKind } from './machine-kinds.js';
import type { Known } from './refs.js';

export interface AbsenceQuestion extends Pick<
  Known,
  'id' | 'globalIdentifier' | 'listedBy' | 'notDelivered'
> {
  ledgerKey: string;
  kind: MachineKind;
}

export async function provablyAbsent(
  client: SoftlayerClient,
  q: AbsenceQuestion,
  clock: Clock,
  signal: AbortSignal,
): Promise<boolean> {
  if (q.notDelivered) return true;
  if (await anyNamed(client, q.ledgerKey, signal)) return false;
  if (q.id !== undefined && (await exists(client, q.kind.service, q.id, signal))) return false;
  if (
    q.globalIdentifier !== undefined &&
    (await exists(client, 'SoftLayer_Hardware', q.globalIdentifier, signal))
  )
    return false;
  if (q.kind.name === 'hardware' && q.id === undefined && q.globalIdentifier === undefined)
    return q.listedBy !== undefined && clock.now() >= q.listedBy;
  return true;
}

async function exists(client: SoftlayerClient, service: string, id: number | string, signal: AbortSignal) {
  try {
    await client.call(service, 'getObject', { id, mask: 'id', signal });
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

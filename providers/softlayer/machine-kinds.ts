/**
 * The two kinds of SoftLayer machine behind one interface: how each is ordered, found, polled,
 * tagged and cancelled. Reference pages:
 * - virtual guests: https://sldn.softlayer.com/reference/services/SoftLayer_Virtual_Guest/createObject/
 *   (poll getObject with `provisionDate` masked), …/deleteObject/ ("cancel a computing instance
 *   effective immediately"; hourly charges stop when it returns).
 * - bare metal: https://sldn.softlayer.com/reference/services/SoftLayer_Hardware/createObject/
 *   (the reply has `id: null` and a `globalIdentifier`, polled by lookup.ts until the order
 *   has an id). Once it has one, the server is polled by that id on `SoftLayer_Hardware_Server`
 *   (the same object; its `activeTransaction` is defined there, and it is the service
 *   softlayer-python's HardwareManager polls); cancellation is
 *   https://sldn.softlayer.com/reference/services/SoftLayer_Billing_Item/cancelItem/ with
 *   `(cancelImmediately, cancelAssociatedBillingItems, reason, customerNote)`, refused by
 *   softlayer-python while a transaction runs (`cancel_hardware`), so it waits for none.
 */
import type { SoftlayerClient } from './client.js';
import { isNotFound } from './errors.js';
import { carried, type Carried, type Listed } from './identity.js';

export type KindName = 'virtual-guest' | 'hardware';

/** What a poll of the machine says, with what ties it to its ledger entry. */
export interface MachineStatus extends Carried {
  id: number;
  globalIdentifier?: string;
  provisionDate?: string;
  /** Name of the running transaction (`activeTransaction.transactionStatus.name`). */
  activeTransaction?: string;
  publicIp?: string;
  privateIp?: string;
  billingItemId?: number;
}

export interface Ordered {
  /** Known at once for guests; for hardware only after the order is processed. */
  id?: number;
  globalIdentifier?: string;
}

export interface MachineKind {
  readonly name: KindName;
  /** The service whose createObject orders it. */
  readonly service: string;
  order(client: SoftlayerClient, template: Record<string, unknown>, signal: AbortSignal): Promise<Ordered>;
  /** The machine's state; `gone` once the API answers ObjectNotFound. */
  status(client: SoftlayerClient, id: number, signal: AbortSignal): Promise<MachineStatus | 'gone'>;
  setTags(client: SoftlayerClient, id: number, tags: string, signal: AbortSignal): Promise<void>;
  /**
   * Starts the cancellation once it may start; `wait` sleeps one poll interval. Resolves
   * without doing anything when the machine is gone or already cancelled.
   */
  cancel(client: SoftlayerClient, id: number, wait: () => Promise<void>, signal: AbortSignal): Promise<void>;
  /** Whether the cancellation is confirmed (see each kind). */
  isCancelled(status: MachineStatus | 'gone'): boolean;
}

export const STATUS_MASK =
  'id,globalIdentifier,hostname,domain,tagReferences[tag[name]],provisionDate,' +
  'activeTransaction[id,transactionStatus[name]],primaryIpAddress,primaryBackendIpAddress,billingItem[id]';

interface RawMachine extends Listed {
  provisionDate?: string | null;
  activeTransaction?: { id?: number; transactionStatus?: { name?: string } };
  primaryIpAddress?: string;
  primaryBackendIpAddress?: string;
}

function toStatus(raw: RawMachine): MachineStatus {
  return {
    id: raw.id ?? 0,
    ...carried(raw),
    ...(raw.globalIdentifier ? { globalIdentifier: raw.globalIdentifier } : {}),
    ...(raw.provisionDate ? { provisionDate: raw.provisionDate } : {}),
    ...(raw.activeTransaction
      ? {
          activeTransaction:
            raw.activeTransaction.transactionStatus?.name ?? `transaction ${raw.activeTransaction.id}`,
        }
      : {}),
    ...(raw.primaryIpAddress ? { publicIp: raw.primaryIpAddress } : {}),
    ...(raw.primaryBackendIpAddress ? { privateIp: raw.primaryBackendIpAddress } : {}),
    ...(raw.billingItem?.id ? { billingItemId: raw.billingItem.id } : {}),
  };
}

async function getStatus(client: SoftlayerClient, service: string, id: number, signal: AbortSignal) {
  try {
    return toStatus(await client.call<RawMachine>(service, 'getObject', { id, mask: STATUS_MASK, signal }));
  } catch (err) {
    if (isNotFound(err)) return 'gone' as const;
    throw err;
  }
}

/** createObject on the kind's service: the id (none yet for bare metal) and the globalIdentifier. */
async function orderOn(
  client: SoftlayerClient,
  service: string,
  template: unknown,
  signal: AbortSignal,
): Promise<Ordered> {
  const reply = await client.call<RawMachine>(service, 'createObject', { params: [template], signal });
  return {
    ...(reply.id ? { id: reply.id } : {}),
    ...(reply.globalIdentifier ? { globalIdentifier: reply.globalIdentifier } : {}),
  };
}

async function setTagsOn(
  client: SoftlayerClient,
  service: string,
  id: number,
  tags: string,
  signal: AbortSignal,
): Promise<void> {
  await client.call(service, 'setTags', { id, params: [tags], idempotent: true, signal });
}

export const virtualGuest: MachineKind = {
  name: 'virtual-guest',
  service: 'SoftLayer_Virtual_Guest',
  order: (client, template, signal) => orderOn(client, 'SoftLayer_Virtual_Guest', template, signal),
  status: (client, id, signal) => getStatus(client, 'SoftLayer_Virtual_Guest', id, signal),
  setTags: (client, id, tags, signal) => setTagsOn(client, 'SoftLayer_Virtual_Guest', id, tags, signal),
  async cancel(client, id, wait, signal) {
    let retriedIdle = false;
    for (;;) {
      try {
        await client.call('SoftLayer_Virtual_Guest', 'deleteObject', { id, idempotent: true, signal });
        return;
      } catch (err) {
        if (isNotFound(err)) return;
        // Refused: because a cancellation already runs (no billing item left), or, as
        // terraform-provider-softlayer assumes, because a transaction still runs: wait for it.
        const now = await getStatus(client, 'SoftLayer_Virtual_Guest', id, signal);
        if (now === 'gone' || !now.billingItemId) return;
        if (now.activeTransaction) {
          retriedIdle = false;
          await wait();
        } else if (retriedIdle) throw err;
        else retriedIdle = true; // the transaction may have ended just now: once more
      }
    }
  },
  // Confirmed only when the guest itself is gone: its billing item disappears first, but
  // the record (and its IP addresses) stay until the reclaim finishes.
  isCancelled: (status) => status === 'gone',
};

export const hardware: MachineKind = {
  name: 'hardware',
  service: 'SoftLayer_Hardware',
  order: (client, template, signal) => orderOn(client, 'SoftLayer_Hardware', template, signal),
  status: (client, id, signal) => getStatus(client, 'SoftLayer_Hardware_Server', id, signal),
  setTags: (client, id, tags, signal) => setTagsOn(client, 'SoftLayer_Hardware', id, tags, signal),
  async cancel(client, id, wait, signal) {
    for (;;) {
      const now = await getStatus(client, 'SoftLayer_Hardware_Server', id, signal);
      if (now === 'gone' || !now.billingItemId) return; // gone, or cancelled already
      if (!now.activeTransaction) {
        await client.call('SoftLayer_Billing_Item', 'cancelItem', {
          id: now.billingItemId,
          params: [true, false, 'No longer needed', 'benchyard teardown'],
          signal,
        });
        return;
      }
      await wait();
    }
  },
  // Bare metal reclaim (wiping disks) takes hours, but billing stops with the cancellation:
  // once the billing item is gone (softlayer-python: "The server may already be cancelled")
  // nothing is charged any more, which is what release has to guarantee.
  isCancelled: (status) => status === 'gone' || !status.billingItemId,
};

export const KINDS: Record<KindName, MachineKind> = { 'virtual-guest': virtualGuest, hardware };

/**
 * What a `gc` ref and this controller's ledger together say about a machine, for `destroy`
 * and `absent`. Where both know a fact the ledger's word wins (a discovered ref's details
 * were read off the machine itself, so they cannot be what it is checked against); a ref
 * whose session or machine id contradicts its ledger entry's is refused.
 */
import type { LedgerEntry, ResourceRef } from '../../src/core/index.js';
import { sameText } from './identity.js';
import { DEFAULTS } from './order.js';

export interface Known {
  endpoint?: string;
  id?: number;
  globalIdentifier?: string;
  domain?: string;
  session?: string;
  /** Bare metal: clock time after which an order not listed never will be. */
  listedBy?: number;
  /** The order never left this controller (see the provider's acquire). */
  notDelivered: boolean;
  /** This ledger has the entry, so a bare `by-<key>` name is enough; otherwise tags must say so too. */
  vouched: boolean;
  /** Why the ref cannot be the entry's, when it says so itself. */
  conflict?: string;
}

export function knownOf(ref: ResourceRef, entry: LedgerEntry | undefined): Known {
  const details: Record<string, unknown> = { ...ref.details, ...entry?.details };
  const globalIdentifier = text(details.globalIdentifier);
  const domain = text(details.domain);
  const endpoint = text(details.endpoint);
  const session = entry?.session ?? ref.session;
  const listedBy = listedByOf(details, entry?.createdAt);
  const numeric = (c: string | undefined) => (c !== undefined && /^\d+$/.test(c) ? c : undefined);
  const [fromLedger, fromRef] = [numeric(entry?.resourceId), numeric(ref.id)];
  const id = fromLedger ?? fromRef;
  const conflict =
    entry && ref.session && !sameText(ref.session, entry.session)
      ? `the ref names session '${ref.session}', its ledger entry '${entry.session}'`
      : fromLedger && fromRef && fromLedger !== fromRef
        ? `the ref names machine ${fromRef}, its ledger entry ${fromLedger}`
        : undefined;
  return {
    ...(endpoint ? { endpoint } : {}),
    ...(id ? { id: Number(id) } : {}),
    ...(globalIdentifier ? { globalIdentifier } : {}),
    ...(domain ? { domain } : {}),
    ...(session ? { session } : {}),
    ...(listedBy !== undefined ? { listedBy } : {}),
    notDelivered: details.order === 'not-delivered',
    vouched: entry !== undefined,
    ...(conflict ? { conflict } : {}),
  };
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value ? value : undefined;
}

/** When a bare metal order not listed yet counts as never carried out (see teardown.ts). */
function listedByOf(details: Record<string, unknown>, createdAt: string | undefined): number | undefined {
  const recorded = Date.parse(text(details.listedBy) ?? '');
  if (Number.isFinite(recorded)) return recorded;
  // Entries written before `listedBy` was recorded: the default provisioning deadline.
  const created = Date.parse(createdAt ?? '');
  return Number.isFinite(created) ? created + DEFAULTS.hardware.deadlineMs : undefined;
}

/**
 * Finding the machines benchyard left at SoftLayer, for `gc`: every virtual guest and bare
 * metal server of the account whose host name starts with `by-` (named before the create
 * call, so found even when the controller died before tagging) or that carries a
 * `benchyard:session` tag. An object filter cannot OR two properties, so each list is asked
 * twice (https://sldn.softlayer.com/article/object-filters/: `^=` "starts with"; filters
 * start at the Account property, `virtualGuests` / `hardware`) and the answers merged.
 */
import { CLOUD_TAGS, type ResourceRef } from '../../src/core/index.js';
import type { SoftlayerClient } from './client.js';
import type { KindName } from './machine-kinds.js';
import { HOSTNAME_PREFIX, ledgerKeyFromHostname, parseTags } from './tags.js';

interface Listed {
  id: number;
  globalIdentifier?: string;
  hostname?: string;
  datacenter?: { name?: string };
  tagReferences?: { tag?: { name?: string } }[];
  billingItem?: { id?: number };
}

const LISTS: { kind: KindName; method: string; root: string }[] = [
  { kind: 'virtual-guest', method: 'getVirtualGuests', root: 'virtualGuests' },
  { kind: 'hardware', method: 'getHardware', root: 'hardware' },
];

const MASK = 'id,globalIdentifier,hostname,datacenter[name],tagReferences[tag[name]],billingItem[id]';

export async function discoverAt(
  client: SoftlayerClient,
  opts: { session?: string; hints: readonly ResourceRef[]; signal: AbortSignal },
): Promise<ResourceRef[]> {
  const refs: ResourceRef[] = [];
  for (const { kind, method, root } of LISTS) {
    const byId = new Map<number, Listed>();
    const filters = [
      { [root]: { hostname: { operation: `^= ${HOSTNAME_PREFIX}` } } },
      { [root]: { tagReferences: { tag: { name: { operation: `^= ${CLOUD_TAGS.session}:` } } } } },
    ];
    for (const filter of filters) {
      const found = await client.list<Listed>('SoftLayer_Account', method, {
        mask: MASK,
        filter,
        signal: opts.signal,
      });
      for (const item of found) byId.set(item.id, item);
    }
    for (const item of byId.values()) {
      const ref = toRef(kind, item, client.endpoint, opts.hints);
      if (!opts.session || ref.session === opts.session) refs.push(ref);
    }
  }
  return refs;
}

function toRef(kind: KindName, item: Listed, endpoint: string, hints: readonly ResourceRef[]): ResourceRef {
  const tags = parseTags((item.tagReferences ?? []).flatMap((r) => (r.tag?.name ? [r.tag.name] : [])));
  const ledgerKey = tags?.ledgerKey ?? ledgerKeyFromHostname(item.hostname);
  // An untagged machine (the controller died before setTags) belongs to the session of its ledger entry.
  const hint = ledgerKey
    ? hints.find((h) => h.ledgerKey === ledgerKey && h.provider === 'softlayer')
    : undefined;
  const session = tags?.session ?? hint?.session;
  const owner = tags?.owner ?? hint?.owner;
  const expiresAt = tags?.expiresAt ?? hint?.expiresAt;
  return {
    provider: 'softlayer',
    kind,
    id: String(item.id),
    ...(item.datacenter?.name ? { region: item.datacenter.name } : {}),
    state: item.billingItem?.id ? 'active' : 'cancelled',
    ...(session ? { session } : {}),
    ...(owner ? { owner } : {}),
    ...(expiresAt ? { expiresAt } : {}),
    ...(ledgerKey ? { ledgerKey } : {}),
    details: {
      endpoint,
      ...(item.hostname ? { hostname: item.hostname } : {}),
      ...(item.globalIdentifier ? { globalIdentifier: item.globalIdentifier } : {}),
    },
  };
}

/**
 * Finding the machines benchyard left at SoftLayer, for `gc`. Each account list is asked
 * twice, for host names starting with `by-` and for a `benchyard:session` tag (an object
 * filter cannot OR two properties; https://sldn.softlayer.com/article/object-filters/), but
 * the filters only save traffic: the API may ignore them (identity.ts), so every machine that
 * comes back is judged here on its own data, and only provable ones are returned:
 *
 * - its host name is `by-K`, and
 * - it carries benchyard tags naming K (a machine of any ledger, e.g. for `gc --all`), or it
 *   is untagged and K is an entry of this ledger (the controller died before tagging it);
 * - where this ledger knows K, the domain and session agree with the entry.
 *
 * A machine named like benchyard's that proves nothing (untagged and unknown here, or
 * tagged for another entry) is left alone with a warning.
 */
import { CLOUD_TAGS, type Logger, type ResourceRef } from '../../src/core/index.js';
import type { SoftlayerClient } from './client.js';
import { carried, mismatch, sameText, type Listed } from './identity.js';
import { ACCOUNT_LISTS } from './lookup.js';
import { HOSTNAME_PREFIX, ledgerKeyFromHostname, parseTags } from './tags.js';
import type { KindName } from './machine-kinds.js';

const MASK = 'id,globalIdentifier,hostname,domain,datacenter[name],tagReferences[tag[name]],billingItem[id]';

export async function discoverAt(
  client: SoftlayerClient,
  opts: { session?: string; hints: readonly ResourceRef[]; signal: AbortSignal; logger: Logger },
): Promise<ResourceRef[]> {
  const refs: ResourceRef[] = [];
  for (const [kind, { method, root }] of Object.entries(ACCOUNT_LISTS) as [
    KindName,
    { method: string; root: string },
  ][]) {
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
      for (const item of found) if (item.id) byId.set(item.id, item);
    }
    for (const item of byId.values()) {
      const ref = judge(kind, item, client.endpoint, opts);
      if (ref) refs.push(ref);
    }
  }
  return refs;
}

/** The ref of a machine proven to be benchyard's, or `undefined` (logged when it looked like one). */
function judge(
  kind: KindName,
  item: Listed,
  endpoint: string,
  opts: { session?: string; hints: readonly ResourceRef[]; logger: Logger },
): ResourceRef | undefined {
  const what = `softlayer ${kind} ${item.id} (${item.hostname ?? '?'}.${item.domain ?? '?'})`;
  const leave = (why: string) => {
    opts.logger.warn(`${what} left alone: ${why}`, { id: item.id });
    return undefined;
  };
  const seen = carried(item);
  const tags = parseTags(seen.tags);
  const key = ledgerKeyFromHostname(item.hostname);
  if (!key) return tags ? leave('it carries benchyard tags but not a benchyard host name') : undefined;
  const hint = opts.hints.find(
    (h) => h.provider === 'softlayer' && h.ledgerKey && sameText(h.ledgerKey, key),
  );
  const domain = typeof hint?.details?.domain === 'string' ? hint.details.domain : undefined;
  const why = mismatch(seen, {
    ledgerKey: hint?.ledgerKey ?? key,
    ...(domain ? { domain } : {}),
    ...(hint?.session ? { session: hint.session } : {}),
    tagged: !hint,
  });
  if (why) return leave(`named like benchyard's, but ${why}`);

  const session = hint?.session ?? tags?.session;
  if (opts.session && !(session && sameText(session, opts.session))) return undefined;
  // Tags may come back lower-cased: the spelling asked for, or the ledger's, is the better one.
  const spelled = opts.session ?? session;
  const owner = hint?.owner ?? tags?.owner;
  const expiresAt = tags?.expiresAt ?? hint?.expiresAt;
  return {
    provider: 'softlayer',
    kind,
    id: String(item.id),
    ...(item.datacenter?.name ? { region: item.datacenter.name } : {}),
    state: item.billingItem?.id ? 'active' : 'cancelled',
    ...(spelled ? { session: spelled } : {}),
    ...(owner ? { owner } : {}),
    ...(expiresAt ? { expiresAt } : {}),
    ledgerKey: hint?.ledgerKey ?? key,
    details: {
      endpoint,
      ...(item.hostname ? { hostname: item.hostname } : {}),
      ...(item.domain ? { domain: item.domain } : {}),
      ...(item.globalIdentifier ? { globalIdentifier: item.globalIdentifier } : {}),
    },
  };
}

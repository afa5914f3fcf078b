/**
 * Proof that a SoftLayer machine is benchyard's, judged on the object as the API returned it,
 * never on what a filter was meant to do: SLDN's object-filter article warns that when a
 * filter is not as the API expects, "the API tends to just ignore the filter and return the
 * normal results" (https://sldn.softlayer.com/article/object-filters/, "Advanced Operators").
 * SoftLayer is also reported to keep tags in lower case (tags.ts), so nothing here depends on
 * the case of a letter.
 *
 * A machine is the one of ledger entry K when its host name is `by-K` (part of the order
 * itself, so it holds before the machine is tagged), its domain is the entry's where that is
 * known, and its benchyard tags, if it has any, name K and the expected session. Tags alone
 * never suffice: any API user can write `benchyard:` tags, while a machine benchyard ordered
 * always carries its name. A name alone suffices only where this ledger has the entry K (the
 * controller died between the order and tagging); otherwise the tags must name K too.
 */
import { hostnameFor, ledgerKeyFromHostname, parseTags } from './tags.js';

/** The properties every lookup asks for, so each can be judged on what came back. */
export const IDENTITY_MASK = 'id,globalIdentifier,hostname,domain,tagReferences[tag[name]]';

/** A machine as a lookup returns it (IDENTITY_MASK and perhaps more). */
export interface Listed {
  id?: number | null;
  globalIdentifier?: string;
  hostname?: string;
  domain?: string;
  tagReferences?: { tag?: { name?: string } }[];
  billingItem?: { id?: number };
  datacenter?: { name?: string };
}

/** What the machine of one ledger entry must carry. */
export interface Expected {
  ledgerKey: string;
  /** The domain it was ordered in, where the ledger recorded it. */
  domain?: string;
  /** The session its ledger entry belongs to, where known. */
  session?: string;
  /**
   * The machine must carry benchyard's ledger-key tag: when this ledger has no entry K, a
   * bare `by-K` host name proves nothing (anyone can name a machine so).
   */
  tagged?: boolean;
}

export function sameText(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** What a machine carries that can tie it to a ledger entry. */
export interface Carried {
  hostname?: string;
  domain?: string;
  /** Tag names as the API returned them. */
  tags: readonly string[];
}

export function carried(m: Listed): Carried {
  return {
    ...(m.hostname !== undefined ? { hostname: m.hostname } : {}),
    ...(m.domain !== undefined ? { domain: m.domain } : {}),
    tags: (m.tagReferences ?? []).flatMap((r) => (r.tag?.name ? [r.tag.name] : [])),
  };
}

/** Why the machine is not the one of `want`; `undefined` when it is. */
export function mismatch(m: Carried, want: Expected): string | undefined {
  const key = ledgerKeyFromHostname(m.hostname);
  if (!key || !sameText(key, want.ledgerKey))
    return `its host name is '${m.hostname ?? ''}', not '${hostnameFor(want.ledgerKey)}'`;
  if (want.domain && !(m.domain && sameText(m.domain, want.domain)))
    return `its domain is '${m.domain ?? ''}', not '${want.domain}'`;
  const tags = parseTags(m.tags);
  if (want.tagged && tags?.ledgerKey === undefined)
    return `it carries no benchyard tag and this ledger has no entry '${want.ledgerKey}'`;
  if (tags?.ledgerKey !== undefined && !sameText(tags.ledgerKey, want.ledgerKey))
    return `it is tagged for ledger entry '${tags.ledgerKey}'`;
  if (want.session && tags?.session !== undefined && !sameText(tags.session, want.session))
    return `it is tagged for session '${tags.session}', not '${want.session}'`;
  return undefined;
}

/** Whether the machine names the ledger entry at all, by host name or by tag. */
export function namesEntry(m: Carried, ledgerKey: string): boolean {
  const byName = ledgerKeyFromHostname(m.hostname);
  const byTag = parseTags(m.tags)?.ledgerKey;
  return [byName, byTag].some((k) => k !== undefined && sameText(k, ledgerKey));
}

/**
 * Host names and tags that tie a SoftLayer machine to its ledger entry.
 *
 * Tags: `setTags` takes one comma-separated string and replaces every tag of the object;
 * "The characters permitted are A-Z, 0-9, whitespace, _ (underscore), - (hypen), . (period),
 * and : (colon). All other characters will be stripped away"
 * (https://sldn.softlayer.com/reference/services/SoftLayer_Tag/setTags/). So a tag is
 * `<key>:<value>` (`=` would be stripped), e.g. `benchyard:session:run-42`, and every value
 * character outside `A-Za-z0-9.:-` is written as `_` + two hex digits (`@` → `_40`), which
 * survives the stripping, cannot contain the comma separator, and decodes exactly, except for
 * case: SoftLayer is reported to keep tags in lower case only (docker/deploykit PR #548:
 * "Softlayer only supports lower-case chars in tags"; the setTags page quoted in deploykit
 * issue #449 permits "a-z"). So decoding ignores case where it matters (hex digits, the
 * `T`/`Z` of timestamps), ledger keys (lower-case hex) are given in lower case, and whoever
 * compares a session or owner read back from a tag compares without case (identity.ts).
 */
import { CLOUD_TAGS } from '../../src/core/index.js';

/** Every machine is named after its ledger entry, so it can be found before it is tagged. */
export const HOSTNAME_PREFIX = 'by-';

export function hostnameFor(ledgerKey: string): string {
  return `${HOSTNAME_PREFIX}${ledgerKey}`;
}

/** The ledger key encoded in a `by-<key>` host name (host names compare without case, as in DNS). */
export function ledgerKeyFromHostname(hostname: string | undefined): string | undefined {
  const lower = hostname?.toLowerCase();
  const key = lower?.startsWith(HOSTNAME_PREFIX) ? lower.slice(HOSTNAME_PREFIX.length) : undefined;
  return key || undefined;
}

export interface BenchyardTags {
  session?: string;
  owner?: string;
  expiresAt?: string;
  ledgerKey?: string;
}

export function encodeTagValue(value: string): string {
  return Array.from(new TextEncoder().encode(value), (b) => {
    const c = String.fromCharCode(b);
    return /[A-Za-z0-9.:-]/.test(c) ? c : `_${b.toString(16).padStart(2, '0')}`;
  }).join('');
}

export function decodeTagValue(encoded: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < encoded.length; i++) {
    const c = encoded[i]!;
    const hex = c === '_' ? /^[0-9a-f]{2}$/i.exec(encoded.slice(i + 1, i + 3)) : null;
    if (hex) {
      bytes.push(parseInt(hex[0], 16));
      i += 2;
    } else bytes.push(c.charCodeAt(0));
  }
  return new TextDecoder().decode(Uint8Array.from(bytes));
}

/** The `setTags` argument for a machine. */
export function tagString(tags: Required<BenchyardTags>): string {
  return [
    [CLOUD_TAGS.session, tags.session],
    [CLOUD_TAGS.owner, tags.owner],
    [CLOUD_TAGS.expiresAt, tags.expiresAt],
    [CLOUD_TAGS.ledgerKey, tags.ledgerKey],
  ]
    .map(([key, value]) => `${key}:${encodeTagValue(value!)}`)
    .join(',');
}

/** benchyard's tags among a machine's tag names; `undefined` when it carries none. */
export function parseTags(names: readonly string[]): BenchyardTags | undefined {
  const out: BenchyardTags = {};
  const fields = [
    ['session', CLOUD_TAGS.session],
    ['owner', CLOUD_TAGS.owner],
    ['expiresAt', CLOUD_TAGS.expiresAt],
    ['ledgerKey', CLOUD_TAGS.ledgerKey],
  ] as const;
  let any = false;
  for (const name of names) {
    for (const [field, key] of fields) {
      if (name.toLowerCase().startsWith(`${key}:`)) {
        out[field] = decodeTagValue(name.slice(key.length + 1));
        any = true;
      }
    }
  }
  if (out.expiresAt) out.expiresAt = out.expiresAt.toUpperCase();
  if (out.ledgerKey) out.ledgerKey = out.ledgerKey.toLowerCase();
  return any ? out : undefined;
}

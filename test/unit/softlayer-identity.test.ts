/**
 * Proof of ownership of a SoftLayer machine (providers/softlayer/identity.ts), judged on what
 * the API returned: the case SoftLayer gives back never changes the verdict, and nothing that
 * names another entry, or only looks like benchyard's, is ever taken for the entry's machine.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mismatch, namesEntry, type Carried } from '../../providers/softlayer/identity.js';
import { parseTags, tagString } from '../../providers/softlayer/tags.js';

const hex12 = fc.stringMatching(/^[0-9a-f]{12}$/);
/** Sessions as users write them (BENCHYARD_SESSION, `gc --session`). */
const session = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,30}$/);

function ours(key: string, s: string, o: { lower?: boolean; upperName?: boolean } = {}): Carried {
  const tags = tagString({
    session: s,
    owner: 'ci@jenkins',
    expiresAt: '2030-01-01T00:00:00.000Z',
    ledgerKey: key,
  })
    .split(',')
    .map((t) => (o.lower ? t.toLowerCase() : t));
  return { hostname: o.upperName ? `BY-${key.toUpperCase()}` : `by-${key}`, domain: 'benchyard.local', tags };
}

describe('SoftLayer identity', () => {
  it("a machine benchyard ordered and tagged is its entry's, whatever case SoftLayer hands back", () => {
    fc.assert(
      fc.property(hex12, session, fc.boolean(), fc.boolean(), (key, s, lower, upperName) => {
        const m = ours(key, s, { lower, upperName });
        expect(
          mismatch(m, { ledgerKey: key, domain: 'BenchYard.Local', session: s, tagged: true }),
        ).toBeUndefined();
        expect(namesEntry(m, key)).toBe(true);
        // A session read back from lower-cased tags still matches the one asked for.
        expect(parseTags(m.tags)!.session!.toLowerCase()).toBe(s.toLowerCase());
      }),
    );
  });

  it("nothing that names another entry, session or domain is ever the entry's machine", () => {
    fc.assert(
      fc.property(hex12, hex12, session, session, (key, other, s, t) => {
        fc.pre(key !== other && s.toLowerCase() !== t.toLowerCase());
        const want = { ledgerKey: key, domain: 'benchyard.local', session: s };
        expect(mismatch(ours(other, s), want)).toMatch(/host name/);
        expect(mismatch({ ...ours(other, s), hostname: `by-${key}` }, want)).toMatch(
          /tagged for ledger entry/,
        );
        expect(mismatch(ours(key, t), want)).toMatch(/tagged for session/);
        expect(mismatch({ ...ours(key, s), domain: 'example.com' }, want)).toMatch(/domain/);
        expect(mismatch({ ...ours(key, s), domain: undefined }, want)).toMatch(/domain/);
        // benchyard's tags on a machine not named by benchyard prove nothing.
        expect(mismatch({ ...ours(key, s), hostname: 'web-2' }, want)).toMatch(/host name/);
      }),
    );
  });

  it('a bare `by-` name counts only where the ledger vouches for it', () => {
    const bare: Carried = { hostname: 'by-0123456789ab', domain: 'benchyard.local', tags: ['team:qa'] };
    expect(mismatch(bare, { ledgerKey: '0123456789ab' })).toBeUndefined();
    expect(mismatch(bare, { ledgerKey: '0123456789ab', tagged: true })).toMatch(/no benchyard tag/);
    expect(mismatch({ hostname: 'by-', tags: [] }, { ledgerKey: '' })).toMatch(/host name/);
    expect(
      namesEntry({ hostname: 'prod-db-1', tags: ['benchyard:ledger-key:0123456789AB'] }, '0123456789ab'),
    ).toBe(true);
    expect(namesEntry({ hostname: 'prod-db-1', tags: [] }, '0123456789ab')).toBe(false);
  });
});

/**
 * How benchyard's pods are known again: label values and pod names the API server takes
 * whatever the session or key, an owner annotation that never throws when read, and the
 * proof of ownership gc asks before a delete.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FIELD_MANAGER, type V1Pod } from '../../providers/kubernetes/api.js';
import {
  encodeOwner,
  K8S_LABELS,
  labelValue,
  MANAGED_BY,
  OWNER_ANNOTATION,
  ownerOf,
  podName,
  provesOwnership,
  type PodOwner,
} from '../../providers/kubernetes/identity.js';

// https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#syntax-and-character-set
const VALID_LABEL_VALUE = /^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$/;
// https://kubernetes.io/docs/concepts/overview/working-with-objects/names/#dns-label-names
const DNS_1123_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

const labelChar = fc.constantFrom(...'abcXYZ019_.-'.split(''));
const anyText = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: labelChar, maxLength: 80 }),
);

describe('labelValue', () => {
  it('always yields a valid label value', () => {
    fc.assert(fc.property(anyText, (s) => VALID_LABEL_VALUE.test(labelValue(s))));
  });

  it('is the identity on valid label values, and hashes the rest distinctly', () => {
    fc.assert(
      fc.property(fc.string({ unit: labelChar, minLength: 1, maxLength: 63 }), (s) => {
        if (VALID_LABEL_VALUE.test(s)) expect(labelValue(s)).toBe(s);
        else expect(labelValue(s)).toMatch(/^h-[0-9a-f]{16}$/);
      }),
    );
    expect(labelValue('a'.repeat(64))).not.toBe(labelValue('a'.repeat(65)));
    expect(labelValue('')).toMatch(/^h-/);
  });
});

describe('podName', () => {
  it('is a DNS-1123 label of at most 63 characters for any key', () => {
    fc.assert(
      fc.property(fc.constantFrom('holder', 'benchmark', 'agent' as const), anyText, (role, key) => {
        const name = podName(role, key);
        expect(name.length).toBeLessThanOrEqual(63);
        expect(name).toMatch(DNS_1123_LABEL);
      }),
    );
  });

  it('differs between two pods of one key', () => {
    expect(podName('benchmark', 'K1')).toMatch(/^by-bench-k1-[0-9a-f]{6}$/);
    expect(podName('benchmark', 'k1')).not.toBe(podName('benchmark', 'k1'));
  });
});

const pod = (annotation: string | undefined, o: { managedBy?: string; manager?: string } = {}): V1Pod => ({
  metadata: {
    name: 'p',
    labels: { [K8S_LABELS.managedBy]: o.managedBy ?? MANAGED_BY },
    ...(annotation === undefined ? {} : { annotations: { [OWNER_ANNOTATION]: annotation } }),
    managedFields: [{ manager: o.manager ?? FIELD_MANAGER, operation: 'Update' }],
  },
});

const ownerArb: fc.Arbitrary<PodOwner> = fc.record({
  key: fc.string(),
  session: fc.string(),
  owner: fc.string(),
  expiresAt: fc.string(),
});

describe('ownerOf', () => {
  it('never throws on any annotation text, JSON or not', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.json(),
          fc.jsonValue().map((v) => JSON.stringify(v)),
        ),
        (text) => {
          const o = ownerOf(pod(text));
          if (o) expect(typeof o.key === 'string' && typeof o.session === 'string').toBe(true);
        },
      ),
    );
    expect(ownerOf(pod(undefined))).toBeUndefined();
    expect(ownerOf({})).toBeUndefined();
    expect(ownerOf(pod('null'))).toBeUndefined();
  });

  it('round-trips encodeOwner', () => {
    fc.assert(
      fc.property(ownerArb, (o) => {
        expect(ownerOf(pod(encodeOwner(o)))).toEqual(o);
      }),
    );
  });
});

describe('provesOwnership', () => {
  const owner: PodOwner = { key: 'k1', session: 's1', owner: 'alice', expiresAt: '2026-12-05T10:00:00Z' };
  const mine = pod(encodeOwner(owner));

  it('holds for the key and session of the ledger entry', () => {
    expect(provesOwnership(mine, { key: 'k1', session: 's1' })).toBe(true);
    expect(provesOwnership(mine, { key: 'k1' })).toBe(true);
  });

  it('needs the key, the session when given, the managed-by label and the benchyard field manager', () => {
    expect(provesOwnership(mine, {})).toBe(false);
    expect(provesOwnership(mine, { key: 'k2', session: 's1' })).toBe(false);
    expect(provesOwnership(mine, { key: 'k1', session: 's2' })).toBe(false);
    expect(provesOwnership(pod(encodeOwner(owner), { managedBy: 'helm' }), { key: 'k1' })).toBe(false);
    // A copied manifest applied with kubectl: same labels and annotation, another manager.
    expect(provesOwnership(pod(encodeOwner(owner), { manager: 'kubectl-create' }), { key: 'k1' })).toBe(
      false,
    );
    expect(provesOwnership({ metadata: { ...mine.metadata, managedFields: [] } }, { key: 'k1' })).toBe(false);
    expect(provesOwnership(pod('not json'), { key: 'k1' })).toBe(false);
  });
});

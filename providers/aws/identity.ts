/**
 * Whether an EC2 instance is benchyard's, judged on the instance as DescribeInstances
 * returned it, never on the filter that asked for it. A filter only narrows an answer: an
 * API or gateway may drop it and answer with every instance of the region (an EC2
 * emulator did exactly that for `tag:` filters: ministackorg/ministack#425).
 *
 * EC2 tag keys and values are case-sensitive (EC2 API reference, `Tag`: "Tag keys are
 * case-sensitive", "Tag values are case-sensitive"), and two keys that differ only in case
 * are two tags on one resource (clouddrove/terraform-aws-eks#99: `Managedby` and
 * `ManagedBy` side by side). So identity is compared exactly: `Benchyard:Session` is
 * someone else's tag, and an answer that re-cased our tags proves nothing.
 */
import { CLOUD_TAGS, OwnershipError } from '../../src/core/index.js';
import type { Instance } from '@aws-sdk/client-ec2';

/** What a destroy expects the instance to carry; at least one of the two. */
export interface Expected {
  ledgerKey?: string;
  session?: string;
}

/** benchyard's tags on an instance, read exactly; absent unless both identity tags are there. */
export interface InstanceIdentity {
  ledgerKey: string;
  session: string;
  owner?: string;
  expiresAt?: string;
}

/**
 * The instance's tags by exact key. A key that appears twice with different values (EC2
 * never answers so) is ambiguous and left out, so it cannot prove anything.
 */
export function tagsOf(instance: Instance): Map<string, string> {
  const tags = new Map<string, string>();
  const ambiguous = new Set<string>();
  for (const t of instance.Tags ?? []) {
    if (t.Key === undefined || t.Value === undefined) continue;
    const seen = tags.get(t.Key);
    if (seen !== undefined && seen !== t.Value) ambiguous.add(t.Key);
    tags.set(t.Key, t.Value);
  }
  for (const k of ambiguous) tags.delete(k);
  return tags;
}

export function identityOf(instance: Instance): InstanceIdentity | undefined {
  const tags = tagsOf(instance);
  const ledgerKey = tags.get(CLOUD_TAGS.ledgerKey);
  const session = tags.get(CLOUD_TAGS.session);
  if (!ledgerKey || !session) return undefined;
  const owner = tags.get(CLOUD_TAGS.owner);
  const expiresAt = tags.get(CLOUD_TAGS.expiresAt);
  return { ledgerKey, session, ...(owner ? { owner } : {}), ...(expiresAt ? { expiresAt } : {}) };
}

/** Why the instance is not the one expected, or `undefined` when it is. */
export function mismatch(instance: Instance, expected: Expected): string | undefined {
  if (!expected.ledgerKey && !expected.session)
    return 'the reference names neither a ledger key nor a session';
  const id = identityOf(instance);
  if (!id) return `it carries no ${CLOUD_TAGS.ledgerKey} and ${CLOUD_TAGS.session} tags`;
  if (expected.ledgerKey !== undefined && id.ledgerKey !== expected.ledgerKey)
    return `its ${CLOUD_TAGS.ledgerKey} is '${id.ledgerKey}', not '${expected.ledgerKey}'`;
  if (expected.session !== undefined && id.session !== expected.session)
    return `its ${CLOUD_TAGS.session} is '${id.session}', not '${expected.session}'`;
  return undefined;
}

/** Throws `OwnershipError` unless the instance carries the expected identity. */
export function assertOwned(instance: Instance, expected: Expected, where: Record<string, unknown>): void {
  const why = mismatch(instance, expected);
  if (why)
    throw new OwnershipError(`aws: not terminating ${instance.InstanceId ?? 'an instance'}: ${why}`, {
      instance: instance.InstanceId,
      ...expected,
      ...where,
    });
}

/**
 * Whether the instance may belong to the ledger entry `key`, judged loosely on purpose:
 * any case of the ledger-key tag or of the key, or the ClientToken our RunInstances sent.
 * `absent` must err towards "something is there", where a destroy errs towards "not ours".
 */
export function mayBelongTo(instance: Instance, key: string): boolean {
  const k = key.toLowerCase();
  if (instance.ClientToken?.toLowerCase() === `benchyard-${k}`) return true;
  return (instance.Tags ?? []).some(
    (t) => t.Key?.toLowerCase() === CLOUD_TAGS.ledgerKey && t.Value?.trim().toLowerCase() === k,
  );
}

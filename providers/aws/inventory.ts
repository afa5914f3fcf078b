/**
 * Reading what benchyard has in one region of EC2: for `gc` (discover), for the cleanup
 * after an unanswered RunInstances (find by ledger key) and for `gc --forget` (absent).
 * Every answer is checked instance by instance on its own tags (`identity.ts`); the
 * filters sent along only make the answer smaller where the API honours them.
 */
import type { Instance } from '@aws-sdk/client-ec2';
import { CLOUD_TAGS, type Logger, type ResourceRef } from '../../src/core/index.js';
import type { Ec2Endpoint } from './ec2-endpoint.js';
import { identityOf, mayBelongTo, mismatch } from './identity.js';

/** States in which an instance still exists (and may cost money). */
export const LIVE_STATES = ['pending', 'running', 'stopping', 'stopped', 'shutting-down'];

export const isLive = (i: Instance) => LIVE_STATES.includes(i.State?.Name ?? '');

/**
 * benchyard's live instances in this region (of one session when given). An instance whose
 * ledger key is one of the hints is reported with the hint's session, so a destroy checks
 * it against what the ledger expects rather than against the tags it was found by. RunInstances
 * carries the ClientToken `benchyard-<key>`, so EC2 makes at most one instance per key: once
 * the ledger recorded its id, another instance carrying the key is not ours and is skipped.
 */
export async function discoverIn(
  ec2: Ec2Endpoint,
  opts: { session?: string; hints: readonly ResourceRef[]; endpoint?: string },
  signal: AbortSignal,
  logger?: Logger,
): Promise<ResourceRef[]> {
  const hinted = new Map(opts.hints.filter((h) => h.ledgerKey).map((h) => [h.ledgerKey!, h]));
  const answer = await ec2.instances(
    {
      Filters: [
        { Name: 'tag-key', Values: [CLOUD_TAGS.ledgerKey] },
        { Name: 'instance-state-name', Values: LIVE_STATES },
        ...(opts.session ? [{ Name: `tag:${CLOUD_TAGS.session}`, Values: [opts.session] }] : []),
      ],
    },
    signal,
  );
  const found: ResourceRef[] = [];
  for (const i of answer) {
    const id = identityOf(i);
    if (!i.InstanceId || !id || !isLive(i)) continue;
    if (opts.session !== undefined && id.session !== opts.session) continue;
    const hint = hinted.get(id.ledgerKey);
    if (hint?.id && hint.id !== i.InstanceId) {
      logger?.warn(
        `aws: ${i.InstanceId} carries ledger key ${id.ledgerKey}, which belongs to ${hint.id}: not ours, left alone`,
      );
      continue;
    }
    const session = hint?.session ?? id.session;
    found.push({
      provider: 'aws',
      kind: 'instance',
      id: i.InstanceId,
      region: ec2.region,
      ...(i.State?.Name ? { state: i.State.Name } : {}),
      session,
      ...(id.owner ? { owner: id.owner } : {}),
      ...(id.expiresAt ? { expiresAt: id.expiresAt } : {}),
      ledgerKey: id.ledgerKey,
      details: opts.endpoint ? { endpoint: opts.endpoint } : {},
    });
  }
  return found;
}

/** The live instances that carry exactly this ledger key and session. */
export async function ownedByKey(
  ec2: Ec2Endpoint,
  expected: { ledgerKey: string; session: string },
  signal?: AbortSignal,
): Promise<Instance[]> {
  const answer = await ec2.instances(
    { Filters: [{ Name: `tag:${CLOUD_TAGS.ledgerKey}`, Values: [expected.ledgerKey] }] },
    signal,
  );
  return answer.filter((i) => i.InstanceId && isLive(i) && mismatch(i, expected) === undefined);
}

/**
 * Whether EC2 provably holds nothing of the ledger entry: the instance it recorded (if
 * any) is gone or terminated, and no live instance answers to its key in any case. A
 * terminated instance stays listed for a while after termination and costs nothing.
 */
export async function absentIn(ec2: Ec2Endpoint, ref: ResourceRef, signal: AbortSignal): Promise<boolean> {
  if (ref.id) {
    const recorded = await ec2.instance(ref.id, signal);
    if (recorded && isLive(recorded)) return false;
  }
  if (!ref.ledgerKey) return !!ref.id;
  const key = ref.ledgerKey;
  const tagged = await ec2.instances(
    { Filters: [{ Name: `tag:${CLOUD_TAGS.ledgerKey}`, Values: [key] }] },
    signal,
  );
  return !tagged.some((i) => isLive(i) && mayBelongTo(i, key));
}

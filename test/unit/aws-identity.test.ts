/**
 * benchyard's identity on EC2 instances, judged on the answer itself: what a destroy
 * accepts, what `gc` discovers and what `absent` calls gone, against an EC2 client fake
 * that answers every DescribeInstances with the same instances whatever the filters (as an
 * API that ignores them does), and how an unreachable endpoint is reported.
 */
import type { EC2Client, Instance } from '@aws-sdk/client-ec2';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Ec2Endpoint } from '../../providers/aws/ec2-endpoint.js';
import { identityOf, mayBelongTo, mismatch, tagsOf } from '../../providers/aws/identity.js';
import { absentIn, discoverIn, ownedByKey } from '../../providers/aws/inventory.js';
import { CLOUD_TAGS, InfrastructureError, InputError, type ResourceRef } from '../../src/core/index.js';

const KEY = '0a1b2c3d4e5f';

function instance(
  id: string,
  tags: Record<string, string>,
  state = 'running',
  extra: Partial<Instance> = {},
) {
  return {
    InstanceId: id,
    State: { Name: state },
    Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
    ...extra,
  } as Instance;
}

const ours = (id: string, session: string, key = KEY, state = 'running') =>
  instance(id, { [CLOUD_TAGS.session]: session, [CLOUD_TAGS.ledgerKey]: key }, state);

/** An EC2 client whose every DescribeInstances answer is `all`, filters or not. */
function ignoringFilters(all: Instance[], unknownIds: readonly string[] = []): Ec2Endpoint {
  const client = {
    send: (cmd: { input: { InstanceIds?: string[] } }) => {
      if (cmd.input.InstanceIds?.some((id) => unknownIds.includes(id)))
        return Promise.reject(Object.assign(new Error('not found'), { name: 'InvalidInstanceID.NotFound' }));
      return Promise.resolve({ Reservations: [{ Instances: all }] });
    },
  } as unknown as EC2Client;
  return new Ec2Endpoint(client, 'eu-north-1', 'http://ec2.test');
}

/** Every way of writing `s` with other letter cases than `s` itself. */
const otherCase = (s: string) =>
  fc
    .array(fc.boolean(), { minLength: s.length, maxLength: s.length })
    .map((upper) => [...s].map((ch, i) => (upper[i] ? ch.toUpperCase() : ch.toLowerCase())).join(''))
    .filter((v) => v !== s);

describe('identity on the instance EC2 returned', () => {
  it('is the exact ledger key and session; a ref naming neither is refused', () => {
    const i = ours('i-1', 's-Nightly-42');
    expect(mismatch(i, { ledgerKey: KEY, session: 's-Nightly-42' })).toBeUndefined();
    expect(mismatch(i, { session: 's-Nightly-42' })).toBeUndefined();
    expect(mismatch(i, { ledgerKey: 'ffffffffffff' })).toMatch(/ledger-key is '0a1b2c3d4e5f'/);
    expect(mismatch(i, { session: 's-nightly-42' })).toMatch(/session is 's-Nightly-42'/);
    expect(mismatch(i, {})).toMatch(/neither/);
    expect(mismatch(instance('i-2', { Name: `benchyard-gpu-${KEY}` }), { ledgerKey: KEY })).toMatch(
      /carries no/,
    );
    // A session tag alone is not benchyard's identity.
    expect(identityOf(instance('i-3', { [CLOUD_TAGS.session]: 's-1' }))).toBeUndefined();
  });

  it('never matches tags written in another case (EC2 tags are case-sensitive)', () => {
    fc.assert(
      fc.property(
        otherCase(CLOUD_TAGS.session),
        otherCase(CLOUD_TAGS.ledgerKey),
        fc.string({ minLength: 1, maxLength: 40 }),
        (sessionKey, ledgerKeyKey, session) => {
          const i = instance('i-1', { [sessionKey]: session, [ledgerKeyKey]: KEY });
          expect(identityOf(i)).toBeUndefined();
          expect(mismatch(i, { ledgerKey: KEY, session })).toBeDefined();
        },
      ),
    );
  });

  it('never matches a session value that differs only in case', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[A-Za-z0-9-]{1,30}$/).filter((s) => /[A-Za-z]/.test(s)),
        (session) => {
          fc.assert(
            fc.property(otherCase(session), (seen) => {
              expect(mismatch(ours('i-1', seen), { ledgerKey: KEY, session })).toBeDefined();
            }),
            { numRuns: 5 },
          );
        },
      ),
      { numRuns: 50 },
    );
  });

  it('leaves out a key the answer gives twice with different values', () => {
    const i = {
      InstanceId: 'i-1',
      Tags: [
        { Key: CLOUD_TAGS.ledgerKey, Value: KEY },
        { Key: CLOUD_TAGS.ledgerKey, Value: 'ffffffffffff' },
        { Key: CLOUD_TAGS.session, Value: 's-1' },
      ],
    } as Instance;
    expect(tagsOf(i).has(CLOUD_TAGS.ledgerKey)).toBe(false);
    expect(mismatch(i, { ledgerKey: KEY })).toBeDefined();
  });

  it('may belong to an entry loosely: any case of key and tag, or our ClientToken', () => {
    expect(mayBelongTo(instance('i-1', { 'BENCHYARD:LEDGER-KEY': KEY.toUpperCase() }), KEY)).toBe(true);
    expect(mayBelongTo(instance('i-2', {}, 'running', { ClientToken: `benchyard-${KEY}` }), KEY)).toBe(true);
    expect(mayBelongTo(instance('i-3', { [CLOUD_TAGS.ledgerKey]: 'ffffffffffff' }), KEY)).toBe(false);
  });
});

describe('reading an API that ignores filters', () => {
  const hint = (over: Partial<ResourceRef> = {}): ResourceRef => ({
    provider: 'aws',
    kind: 'instance',
    id: 'i-ours',
    region: 'eu-north-1',
    session: 's-1',
    ledgerKey: KEY,
    ...over,
  });
  const region = [
    ours('i-ours', 's-1'),
    ours('i-other-controller', 's-2', 'ffffffffffff'),
    ours('i-gone', 's-1', '111111111111', 'terminated'),
    instance('i-prod', { Name: 'prod-db-1' }),
    instance('i-session-only', { [CLOUD_TAGS.session]: 's-1' }),
    instance('i-case', { 'Benchyard:Session': 's-1', 'Benchyard:Ledger-Key': KEY }),
    ours('i-twin', 's-1'), // our key on another instance: the ledger recorded i-ours
  ];
  const signal = AbortSignal.timeout(5_000);

  it('discovers only live instances carrying the identity, of the session asked for', async () => {
    const warnings: string[] = [];
    const logger = { debug() {}, info() {}, warn: (m: string) => void warnings.push(m), error() {} };
    const all = await discoverIn(ignoringFilters(region), { hints: [hint()] }, signal, logger);
    expect(all.map((r) => r.id)).toEqual(['i-ours', 'i-other-controller']);
    expect(all[0]).toMatchObject({ session: 's-1', ledgerKey: KEY, state: 'running', region: 'eu-north-1' });
    expect(warnings.join('\n')).toMatch(/i-twin carries ledger key 0a1b2c3d4e5f, which belongs to i-ours/);
    const s2 = await discoverIn(ignoringFilters(region), { session: 's-2', hints: [] }, signal);
    expect(s2.map((r) => r.id)).toEqual(['i-other-controller']);
  });

  it('reports a hinted instance with the session the ledger expects, so a destroy checks that', async () => {
    const [ref] = await discoverIn(
      ignoringFilters([ours('i-ours', 's-1')]),
      { hints: [hint({ session: 'S-1' })] },
      signal,
    );
    expect(ref?.session).toBe('S-1');
  });

  it('finds by ledger key only what carries the key and the session', async () => {
    const found = await ownedByKey(ignoringFilters(region), { ledgerKey: KEY, session: 's-1' });
    expect(found.map((i) => i.InstanceId)).toEqual(['i-ours', 'i-twin']);
    expect(await ownedByKey(ignoringFilters(region), { ledgerKey: KEY, session: 's-9' })).toEqual([]);
  });

  it('calls an entry absent only when nothing live answers to it', async () => {
    const ref = hint();
    expect(await absentIn(ignoringFilters(region), ref, signal)).toBe(false);
    // Recorded instance unknown to EC2, and only a terminated one carries the key.
    const gone = [ours('i-x', 's-1', KEY, 'terminated'), instance('i-prod', { Name: 'prod-db-1' })];
    expect(await absentIn(ignoringFilters(gone, ['i-ours']), ref, signal)).toBe(true);
    // The key in another case on a live instance: not provably absent.
    const recased = [...gone, instance('i-y', { 'BENCHYARD:LEDGER-KEY': KEY.toUpperCase() })];
    expect(await absentIn(ignoringFilters(recased, ['i-ours']), ref, signal)).toBe(false);
    // The recorded instance is still there, whatever its tags say.
    expect(await absentIn(ignoringFilters([instance('i-ours', {})]), ref, signal)).toBe(false);
  });
});

describe('an endpoint that cannot be called', () => {
  const ec2 = new Ec2Endpoint({} as EC2Client, 'us-east-1', 'http://127.0.0.1:1');

  it('is an infrastructure error naming the provider, the endpoint and the region', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), {
      code: 'ECONNREFUSED',
      $metadata: { attempts: 3 },
    });
    const err = await ec2.call(() => Promise.reject(refused)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InfrastructureError);
    expect((err as Error).message).toBe(
      'aws: EC2 endpoint http://127.0.0.1:1 (us-east-1) is unreachable: connect ECONNREFUSED 127.0.0.1:1',
    );
  });

  it('missing credentials are input to fix, named with the endpoint', () => {
    const none = Object.assign(new Error('Could not load credentials from any providers'), {
      name: 'CredentialsProviderError',
    });
    const err = ec2.explain(none);
    expect(err).toBeInstanceOf(InputError);
    expect(err?.message).toMatch(
      /^aws: no credentials to call EC2 endpoint http:\/\/127\.0\.0\.1:1 \(us-east-1\)/,
    );
  });

  it('leaves answers of the API and cancellations as they are', () => {
    const answered = Object.assign(new Error('denied'), {
      name: 'UnauthorizedOperation',
      $metadata: { httpStatusCode: 403 },
    });
    const aborted = Object.assign(new Error('Request aborted'), { name: 'AbortError' });
    expect(ec2.explain(answered)).toBeUndefined();
    expect(ec2.explain(aborted)).toBeUndefined();
  });
});

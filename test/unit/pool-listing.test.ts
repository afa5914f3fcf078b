/** `pool list` (src/pool): who holds each member, from the ledger's record and from the machines. */
import { describe, expect, it } from 'vitest';
import { type LedgerEntry, type PoolMember } from '../../src/core/index.js';
import { poolListing, readHolders, type PoolListRow } from '../../src/pool/index.js';

const member = (over: Partial<PoolMember> & { host: string }): PoolMember => ({
  pool: 'lab',
  state: 'active',
  addedAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  ...over,
});

const lease = (resourceId: string, session: string): LedgerEntry => ({
  key: `k-${resourceId}`,
  provider: 'ssh',
  kind: 'lease',
  session,
  owner: 'ann@laptop',
  resourceId,
  status: 'active',
  createdAt: '2026-01-02T00:00:00.000Z',
  updatedAt: '2026-01-02T00:00:00.000Z',
  expiresAt: '2026-01-03T00:00:00.000Z',
  details: {},
});

describe('poolListing', () => {
  it('a member is held by the open lease on its host and port; one without a port by any port no other member names', () => {
    const members = [
      member({ host: 'gpu-1', port: 2222 }),
      member({ host: 'gpu-1' }),
      member({ host: 'gpu-2' }),
    ];
    const listing = poolListing(
      members,
      [lease('root@gpu-1:2222', 's-a'), lease('root@gpu-1:22', 's-b'), lease('root@gpu-9:22', 's-c')],
      true,
    );
    expect(listing.members.map((m) => [m.host, m.port, m.heldBy?.session])).toEqual([
      ['gpu-1', 2222, 's-a'],
      ['gpu-1', undefined, 's-b'],
      ['gpu-2', undefined, undefined],
    ]);
    expect(listing.members[0]!.heldBy).toEqual({
      session: 's-a',
      owner: 'ann@laptop',
      since: '2026-01-02T00:00:00.000Z',
      source: 'ledger',
    });
  });

  it('the machines of cloud targets that runs hold are listed with all pools, not with one', () => {
    const ec2: LedgerEntry = {
      ...lease('i-1', 's-a'),
      provider: 'aws',
      kind: 'instance',
      zone: 'us-east-1a',
      target: 'big',
    };
    const creating: LedgerEntry = { ...ec2, key: 'k-new', resourceId: undefined, status: 'creating' };
    const all = poolListing([], [ec2, creating], true);
    expect(all.machines.map((m) => [m.target, m.machine, m.where, m.status])).toEqual([
      ['big', 'i-1', 'us-east-1a', 'active'],
      ['big', '(being created: k-new)', 'us-east-1a', 'creating'],
    ]);
    expect(poolListing([], [ec2], false).machines).toEqual([]);
  });
});

describe('readHolders', () => {
  const rows: PoolListRow[] = [
    {
      ...member({ host: 'gpu-1', user: 'bench' }),
      heldBy: { session: 's-old', owner: 'o', since: 's', source: 'ledger' },
    },
    member({ host: 'gpu-2', port: 2200 }),
    member({ host: 'gpu-3', state: 'removed' }),
  ];

  it("the machine's own lease replaces this state's record; a free machine has none; a removed member is not asked", async () => {
    const asked: unknown[] = [];
    const out = await readHolders(
      rows,
      async (m) => {
        asked.push(m);
        return m.host === 'gpu-2'
          ? {
              session: 's-new',
              owner: 'bob@ci',
              host: 'ci-7',
              pid: 42,
              since: 'then',
              expiresAt: 'soon',
              expired: true,
              machine: 'lab gpu-2',
            }
          : undefined;
      },
      new AbortController().signal,
    );
    expect(asked).toEqual([
      { host: 'gpu-1', user: 'bench' },
      { host: 'gpu-2', port: 2200 },
    ]);
    expect(out[0]).not.toHaveProperty('heldBy');
    expect(out[1]!.heldBy).toEqual({
      session: 's-new',
      owner: 'bob@ci',
      since: 'then',
      target: 'lab gpu-2',
      source: 'machine',
      controller: 'pid 42 on ci-7',
      expiresAt: 'soon',
      expired: true,
    });
    expect(out[2]).toBe(rows[2]);
  });

  it('a machine that does not answer keeps the record and says why', async () => {
    const out = await readHolders(
      rows.slice(0, 1),
      async () => Promise.reject(new Error('connect ETIMEDOUT 10.0.0.1:22')),
      new AbortController().signal,
    );
    expect(out[0]!.heldBy?.session).toBe('s-old');
    expect(out[0]!.unreachable).toMatch(/ETIMEDOUT/);
  });
});

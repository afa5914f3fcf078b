/** Named pools in a real SQLite file: membership changes, identity, validation. */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/index.js';
import { sshHostsTarget } from '../../src/config/targets/ssh-hosts.js';
import { SqliteLedger } from '../../src/ledger/index.js';
import { SqlitePoolStore } from '../../src/pool/index.js';

let state: string;
let store: SqlitePoolStore;
let t = Date.parse('2026-01-01T00:00:00Z');
const clock = { now: () => (t += 1000), sleep: async () => {} };

beforeEach(() => {
  state = mkdtempSync(path.join(os.tmpdir(), 'by-pools-'));
  store = new SqlitePoolStore(state, clock);
});
afterEach(() => {
  store.dispose();
  rmSync(state, { recursive: true, force: true });
});

const summary = (pool: string) => store.members(pool).map((m) => `${m.host}:${m.port ?? '-'}=${m.state}`);

describe('SqlitePoolStore', () => {
  it('adds members idempotently and keeps their order and overrides', () => {
    const a = store.add('lab', { host: '10.0.0.1' });
    expect(a).toMatchObject({ pool: 'lab', host: '10.0.0.1', state: 'active' });
    expect(a.port).toBeUndefined();
    store.add('lab', { host: 'fpga-2', port: 2222, user: 'bench', dockerSocket: '/run/docker.sock' });
    store.add('lab', { host: '10.0.0.1' });
    expect(summary('lab')).toEqual(['10.0.0.1:-=active', 'fpga-2:2222=active']);
    expect(store.members('lab')[1]).toMatchObject({ user: 'bench', dockerSocket: '/run/docker.sock' });
    // Adding again keeps what was not given and replaces what was.
    store.add('lab', { host: 'fpga-2', port: 2222, user: 'ops' });
    expect(store.members('lab')[1]).toMatchObject({ user: 'ops', dockerSocket: '/run/docker.sock' });
    expect(store.members('other')).toEqual([]);
  });

  it('identifies a member by host and port', () => {
    store.add('lab', { host: 'box' });
    store.add('lab', { host: 'box', port: 2222 });
    expect(summary('lab')).toEqual(['box:-=active', 'box:2222=active']);
    expect(() => store.remove('lab', 'box')).toThrow(/has box more than once .*give its --port/);
    store.remove('lab', 'box', { port: 2222 });
    expect(summary('lab')).toEqual(['box:-=active', 'box:2222=removed']);
  });

  it('removes (with and without now), drains, and re-adding makes a member active again', () => {
    store.add('lab', { host: 'h1' });
    store.add('lab', { host: 'h2' });
    store.add('lab', { host: 'h3' });
    const before = store.members('lab')[1]!;
    const removed = store.remove('lab', 'h2');
    expect(removed).toMatchObject({ state: 'removed', addedAt: before.addedAt });
    expect(removed.now).toBeUndefined();
    expect(removed.updatedAt > before.updatedAt).toBe(true);
    expect(store.remove('lab', 'h3', { now: true })).toMatchObject({ state: 'removed', now: true });
    // Removing again without --now keeps the earlier --now.
    expect(store.remove('lab', 'h3').now).toBe(true);

    expect(store.drain('lab').map((m) => m.state)).toEqual(['draining', 'removed', 'removed']);
    expect(store.add('lab', { host: 'h1' }).state).toBe('active');
    const back = store.add('lab', { host: 'h3' });
    expect(back.state).toBe('active');
    expect(back.now).toBeUndefined();
    expect(summary('lab')).toEqual(['h1:-=active', 'h2:-=removed', 'h3:-=active']);
  });

  it('lists every pool, and is seen at once by another handle on the same file (another shell)', () => {
    store.add('lab', { host: 'h1' });
    store.add('gpus', { host: 'g1' });
    const other = new SqlitePoolStore(state);
    try {
      expect(other.list().map((m) => `${m.pool}/${m.host}`)).toEqual(['gpus/g1', 'lab/h1']);
      expect(other.pools()).toEqual(['gpus', 'lab']);
      other.remove('lab', 'h1', { now: true });
      expect(store.members('lab')[0]).toMatchObject({ state: 'removed', now: true });
    } finally {
      other.dispose();
    }
    // The ledger shares the file: both tables live side by side.
    const ledger = new SqliteLedger(state, 's-test');
    expect(ledger.open()).toEqual([]);
    ledger.dispose();
    expect(store.members('lab')).toHaveLength(1);
  });

  it('rejects bad names and unknown pools or members with clear input errors', () => {
    const err = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(InputError);
        return (e as Error).message;
      }
      throw new Error('expected an InputError');
    };
    expect(err(() => store.add('Lab Pool', { host: 'h1' }))).toMatch(
      /pool name 'Lab Pool' must be 1-63 lowercase/,
    );
    expect(err(() => store.add('lab', { host: 'root@h1' }))).toMatch(/'root@h1' is not a host.*--user/);
    expect(err(() => store.add('lab', { host: '' }))).toMatch(/is not a host/);
    expect(err(() => store.add('lab', { host: 'h1', port: 70000 }))).toMatch(/port 70000 .* not a port/);
    expect(err(() => store.add('lab', { host: 'h1', dockerSocket: 'docker.sock' }))).toMatch(
      /must be an absolute path/,
    );
    expect(err(() => store.remove('lab', 'h1'))).toMatch(/no pool 'lab' \(none yet/);
    store.add('lab', { host: 'h1' });
    expect(err(() => store.remove('lab', 'h9'))).toMatch(
      /'h9' is not a member of pool 'lab' \(members: h1\)/,
    );
    expect(err(() => store.drain('gpus'))).toMatch(/no pool 'gpus' \(pools: lab\)/);
    expect(summary('lab')).toEqual(['h1:-=active']);
  });
});

describe('ssh target: hosts or pool', () => {
  const messages = (input: unknown) =>
    sshHostsTarget.safeParse(input).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`);

  it('takes exactly one of them', () => {
    expect(sshHostsTarget.parse({ pool: 'lab' })).toMatchObject({ pool: 'lab' });
    expect(sshHostsTarget.parse({ hosts: ['h1'] })).toMatchObject({ hosts: ['h1'] });
    expect(messages({ hosts: ['h1'], pool: 'lab' })).toEqual([
      "pool: give either 'hosts' (a fixed list of machines) or 'pool' (a named pool), not both",
    ]);
    expect(messages({})).toEqual([
      ": an ssh target needs 'hosts' (a list of machines) or 'pool' (a pool name from 'benchyard pool add')",
    ]);
    expect(messages({ pool: 'Bad Name' })?.[0]).toMatch(/^pool: must be 1-63 lowercase/);
  });
});

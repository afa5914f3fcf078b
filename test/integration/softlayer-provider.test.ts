/**
 * The SoftLayer provider against the local fake of the SoftLayer REST API
 * (test/helpers/softlayer-fake.ts), with an in-memory ledger and a connector that hands
 * out sessions without SSH (both ports; test/helpers/softlayer-harness.ts). Proof of
 * ownership with foreign machines in the account: softlayer-ownership.test.ts; the fake
 * itself: softlayer-fake.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InputError, ProvisionError } from '../../src/core/index.js';
import { loadCredentials } from '../../providers/softlayer/credentials.js';
import { SL_ERRORS, type SoftlayerFake, type SoftlayerFakeOptions } from '../helpers/softlayer-fake.js';
import {
  restOf,
  startWorld,
  until,
  type FakeConnector,
  type MemoryLedger,
  type RecordingLogger,
  type World,
} from '../helpers/softlayer-harness.js';

let w: World;
let fake: SoftlayerFake;
let ledger: MemoryLedger;
let logger: RecordingLogger;
let connector: FakeConnector;
let API_KEY: string;

async function setup(opts: SoftlayerFakeOptions = {}) {
  w = await startWorld(opts);
  ({ fake, ledger, logger, connector, apiKey: API_KEY } = w);
}

const provider = (apiKey?: string) => w.provider(apiKey ? { apiKey } : {});
const target = (options: Record<string, unknown> = {}) => w.target(options);
const calls = (method: string) => w.calls(method);
const secretsIn = () => JSON.stringify([...ledger.entries.values()]) + logger.lines.join('\n');

beforeEach(async () => setup());
afterEach(async () => {
  await fake.close();
  expect(secretsIn()).not.toContain(API_KEY);
});

describe('SoftlayerProvider: virtual guests', () => {
  it(
    'orders, tags, waits for provisioning, connects, and cancels on release',
    { timeout: 10_000 },
    async () => {
      await fake.close();
      await setup({ publicAddresses: ['203.0.113.7'], provisioning: { polls: 3 } });
      const p = provider();
      const machine = await p.acquire(target(), AbortSignal.timeout(5_000));

      const [entry] = ledger.entries.values();
      expect(machine).toMatchObject({
        provider: 'softlayer',
        instanceType: 'AC1_8X60X25',
        region: 'dal10',
        hostname: `by-${entry!.key}`,
        hourlyPriceUsd: 2.5,
        localCgroups: false,
      });
      // The ledger entry was written before the create call, which already used its key.
      const create = calls('SoftLayer_Virtual_Guest::createObject');
      expect(create).toHaveLength(1);
      const intend = ledger.writes.find((w) => w.op === 'intend')!;
      expect(intend.requestsBefore).toBeLessThanOrEqual(create[0]!.seq - 1);
      const active = ledger.writes.find((w) => w.status === 'active')!;
      expect(active.requestsBefore).toBeGreaterThanOrEqual(create[0]!.seq);
      expect(create[0]!.params[0]).toEqual({
        hostname: `by-${entry!.key}`,
        domain: 'benchyard.local',
        datacenter: { name: 'dal10' },
        hourlyBillingFlag: true,
        supplementalCreateObjectOptions: { flavorKeyName: 'AC1_8X60X25' },
        operatingSystemReferenceCode: 'UBUNTU_22_64',
        sshKeys: [{ id: 42 }],
      });
      const guest = fake.state.machines[0]!;
      expect(machine.id).toBe(`softlayer:${guest.id}`);
      expect(ledger.get(entry!.key)).toMatchObject({
        status: 'active',
        resourceId: String(guest.id),
        region: 'dal10',
      });
      expect(ledger.get(entry!.key)!.details).toMatchObject({ endpoint: fake.url, flavor: 'AC1_8X60X25' });
      // Tags survive SoftLayer's character rules unchanged.
      expect(guest.tags).toEqual([
        'benchyard:session:sess-1',
        'benchyard:owner:tester_40lab-host',
        `benchyard:expires-at:${entry!.expiresAt}`,
        `benchyard:ledger-key:${entry!.key}`,
      ]);
      expect(connector.endpoints[0]).toMatchObject({ host: '203.0.113.7', user: 'root', port: 22 });
      expect(calls('getObject').length).toBeGreaterThanOrEqual(3);

      await p.release(machine, AbortSignal.timeout(5_000));
      expect(connector.closed).toBe(1);
      expect(calls('SoftLayer_Virtual_Guest::deleteObject')).toHaveLength(1);
      expect(calls('getObject').at(-1)!.status).toBe(404); // confirmed gone
      expect(guest.phase).toBe('gone');
      expect(ledger.get(entry!.key)!.status).toBe('released');
      expect(ledger.open()).toEqual([]);
    },
  );

  it(
    'moves to the next datacenter on a capacity error and records where it ran',
    { timeout: 10_000 },
    async () => {
      fake.injectDatacenter('dal10', SL_ERRORS.capacity('dal10'));
      const p = provider();
      const machine = await p.acquire(
        target({ datacenters: ['dal10', 'dal12'] }),
        AbortSignal.timeout(5_000),
      );
      expect(machine.region).toBe('dal12');
      const [first, second] = ledger.entries.values();
      expect(first).toMatchObject({ region: 'dal10', status: 'failed' });
      expect(first!.error).toMatch(/no capacity for AC1_8X60X25 in dal10/);
      expect(second).toMatchObject({ region: 'dal12', status: 'active' });
      expect(fake.state.machines.map((m) => m.datacenter)).toEqual(['dal12']);
      await p.release(machine, AbortSignal.timeout(5_000));
    },
  );

  it(
    'stops at an account limit: ProvisionError QUOTA, nothing left behind',
    { timeout: 10_000 },
    async () => {
      fake.inject('SoftLayer_Virtual_Guest::createObject', SL_ERRORS.hourlyLimit);
      const err = await provider()
        .acquire(target({ datacenters: ['dal10', 'dal12'] }), AbortSignal.timeout(5_000))
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProvisionError);
      expect((err as ProvisionError).failureClass).toBe('QUOTA');
      expect(calls('createObject')).toHaveLength(1); // another datacenter would not help
      expect(fake.state.machines).toEqual([]);
      expect(ledger.open()).toEqual([]);

      fake.inject('createObject', SL_ERRORS.accountProhibited);
      const again = await provider()
        .acquire(target(), AbortSignal.timeout(5_000))
        .catch((e: unknown) => e);
      expect((again as ProvisionError).failureClass).toBe('QUOTA');
    },
  );

  it('retries RateLimitExceeded and orders exactly one guest', { timeout: 10_000 }, async () => {
    fake.inject('createObject', SL_ERRORS.rateLimit, 2);
    fake.inject('setTags', SL_ERRORS.rateLimit, 1);
    const p = provider();
    const machine = await p.acquire(target(), AbortSignal.timeout(5_000));
    expect(calls('createObject').map((r) => r.status)).toEqual([500, 500, 201]);
    expect(calls('setTags').map((r) => r.status)).toEqual([500, 200]);
    expect(fake.state.machines).toHaveLength(1);
    expect(logger.lines.filter((l) => l.includes('retrying')).length).toBe(3);
    await p.release(machine, AbortSignal.timeout(5_000));
  });

  it(
    'a lost reply to createObject is not retried; the guest is found by host name and cancelled',
    { timeout: 10_000 },
    async () => {
      fake.inject('createObject', { status: 502, error: 'Bad Gateway' }, 1, { afterCall: true });
      const err = await provider()
        .acquire(target(), AbortSignal.timeout(5_000))
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProvisionError);
      expect((err as ProvisionError).failureClass).toBe('INFRA');
      expect(calls('createObject')).toHaveLength(1); // it may have gone through: never repeated
      const [entry] = ledger.entries.values();
      expect(calls('getVirtualGuests')[0]!.filter).toEqual({
        virtualGuests: {
          hostname: { operation: `by-${entry!.key}` },
          domain: { operation: 'benchyard.local' },
        },
      });
      expect(fake.state.machines[0]!.phase).toBe('gone');
      expect(entry!.status).toBe('released');
    },
  );

  it('release is idempotent, and a guest already gone counts as released', { timeout: 10_000 }, async () => {
    const p = provider();
    const a = await p.acquire(target(), AbortSignal.timeout(5_000));
    await Promise.all([p.release(a, AbortSignal.timeout(5_000)), p.release(a, AbortSignal.timeout(5_000))]);
    expect(calls('deleteObject')).toHaveLength(1);
    const before = fake.requests.length;
    await p.release(a, AbortSignal.timeout(5_000));
    expect(fake.requests.length).toBe(before);

    // Someone deleted the guest behind benchyard's back: deleteObject answers ObjectNotFound.
    const b = await p.acquire(target(), AbortSignal.timeout(5_000));
    const guest = fake.state.find(b.id.split(':')[1]!)!;
    guest.phase = 'gone';
    await p.release(b, AbortSignal.timeout(5_000));
    expect(calls('getObject').at(-1)!.status).toBe(404); // read back before anything is cancelled
    expect(calls('deleteObject')).toHaveLength(1); // a's only
    expect(ledger.open()).toEqual([]);
  });

  it(
    'cancels the guest and closes the ledger entry when acquire is aborted while provisioning',
    { timeout: 10_000 },
    async () => {
      await fake.close();
      await setup({ provisioning: { polls: 10_000 } });
      const abort = new AbortController();
      const pending = provider().acquire(target(), abort.signal);
      await until(() => calls('getObject').length >= 2); // ordered, tagged, being polled
      abort.abort(new Error('user pressed ^C'));
      await expect(pending).rejects.toThrow('user pressed ^C');
      expect(calls('deleteObject')).toHaveLength(1);
      expect(fake.state.machines[0]!.phase).toBe('gone');
      expect([...ledger.entries.values()].map((e) => e.status)).toEqual(['released']);
      expect(connector.endpoints).toEqual([]);
    },
  );

  it(
    'waits out a provisioning transaction when deleteObject is refused during it',
    { timeout: 10_000 },
    async () => {
      await fake.close();
      await setup({ provisioning: { ms: 500 }, refuseDeleteDuringTransaction: true });
      const abort = new AbortController();
      const pending = provider().acquire(target(), abort.signal);
      await until(() => calls('getObject').length >= 1);
      abort.abort(new Error('stop'));
      await expect(pending).rejects.toThrow('stop');
      const deletes = calls('deleteObject').map((r) => r.status);
      expect(deletes.at(-1)).toBe(200);
      expect(deletes.slice(0, -1).length).toBeGreaterThan(0);
      expect(new Set(deletes.slice(0, -1))).toEqual(new Set([500]));
      expect(fake.state.machines[0]!.phase).toBe('gone');
      expect(ledger.open()).toEqual([]);
    },
  );

  it('gives up at the deadline: ProvisionError INFRA, guest cancelled', { timeout: 10_000 }, async () => {
    await fake.close();
    await setup({ provisioning: { polls: 10_000 } });
    const err = await provider()
      .acquire(target({ deadline: '1s' }), AbortSignal.timeout(5_000))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProvisionError);
    expect((err as ProvisionError).failureClass).toBe('INFRA');
    expect((err as Error).message).toMatch(/was not ready \(last: [A-Z_]+\) within 1\.00s/);
    expect(fake.state.machines[0]!.phase).toBe('gone');
    expect(ledger.open()).toEqual([]);
  });
});

describe('SoftlayerProvider: an order that never reached the API', () => {
  it(
    'closes its ledger entry as failed at once, cancels nothing, and is absent for gc --forget',
    { timeout: 10_000 },
    async () => {
      // A port nothing listens on: the connection is refused before any request is sent.
      const server = net.createServer();
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const port = (server.address() as net.AddressInfo).port;
      await new Promise((r) => server.close(r));
      const endpoint = `http://127.0.0.1:${port}/rest/v3.1/`;
      const p = provider();
      for (const kind of ['virtual-guest', 'hardware'] as const) {
        const options =
          kind === 'hardware' ? { kind, flavor: undefined, preset: 'S1270_8GB_2X1TBSATA_NORAID' } : {};
        const err = await p
          .acquire(target({ endpoint, ...options }), AbortSignal.timeout(5_000))
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ProvisionError);
        expect((err as Error).message).toMatch(/ECONNREFUSED/);
      }
      const entries = [...ledger.entries.values()];
      expect(entries.map((e) => e.status)).toEqual(['failed', 'failed']);
      for (const e of entries) {
        expect(e.error).toMatch(/never reached SoftLayer.*ECONNREFUSED/);
        expect(e.details.order).toBe('not-delivered');
        // No clean-up was tried: the entry never went `releasing`.
        expect(ledger.writes.filter((x) => x.key === e.key && x.status === 'releasing')).toEqual([]);
        const ref = { provider: 'softlayer', kind: e.kind, id: '', ledgerKey: e.key, details: e.details };
        expect(await p.absent(ref, AbortSignal.timeout(5_000))).toBe(true);
      }
      expect(fake.requests).toEqual([]);
    },
  );
});

describe('SoftlayerProvider: bare metal', () => {
  const preset = 'D2620V4_128GB_2X800GB_SSD_RAID_1_K80_GPU2';
  const bareMetal = (o: Record<string, unknown> = {}) =>
    target({ kind: 'hardware', flavor: undefined, preset, ...o });

  it(
    'polls the order by its globalIdentifier, then cancels only once no transaction runs',
    { timeout: 15_000 },
    async () => {
      await fake.close();
      await setup({
        hardware: { approval: { polls: 2 }, provisioning: { polls: 3 }, reclaim: { polls: 50 } },
      });
      const p = provider();
      const machine = await p.acquire(bareMetal(), AbortSignal.timeout(10_000));
      const server = fake.state.machines[0]!;
      expect(server.type).toBe('SoftLayer_Hardware');
      expect(machine).toMatchObject({ id: `softlayer:${server.id}`, instanceType: preset });
      expect(calls('SoftLayer_Hardware::createObject')[0]!.params[0]).toMatchObject({
        fixedConfigurationPreset: { keyName: preset },
        operatingSystemReferenceCode: 'UBUNTU_22_64',
        hourlyBillingFlag: true,
      });
      const [entry] = ledger.entries.values();
      expect(entry).toMatchObject({ kind: 'hardware', resourceId: String(server.id) });
      expect(entry!.details.globalIdentifier).toBe(server.globalIdentifier);
      // The id came from SoftLayer_Hardware::getObject on the order, never from listing the account.
      const byOrder = calls('SoftLayer_Hardware::getObject').filter((r) => r.id === server.globalIdentifier);
      expect(byOrder.length).toBeGreaterThanOrEqual(3); // twice pending, then with its id
      expect(calls('SoftLayer_Account::getHardware')).toEqual([]);
      expect(server.tags).toContain(`benchyard:ledger-key:${entry!.key}`);

      // A transaction (say, a firmware update) starts; it ends 300ms later.
      server.transaction = { id: 1, name: 'FIRMWARE_UPDATE', createDate: new Date().toISOString() };
      let endedAt = 0;
      setTimeout(() => {
        server.transaction = undefined;
        endedAt = Date.now();
      }, 300);
      await p.release(machine, AbortSignal.timeout(10_000));
      const cancels = calls('SoftLayer_Billing_Item::cancelItem');
      expect(cancels).toHaveLength(1);
      expect(cancels[0]!.status).toBe(200);
      expect(cancels[0]!.at).toBeGreaterThanOrEqual(endedAt);
      expect(cancels[0]!.params).toEqual([true, false, 'No longer needed', 'benchyard teardown']);
      expect(server.billingItemId).toBeUndefined();
      expect(ledger.get(entry!.key)!.status).toBe('released');
    },
  );

  it(
    'an acquire aborted while the order is pending waits for the server and cancels it',
    { timeout: 15_000 },
    async () => {
      await fake.close();
      await setup({ hardware: { approval: { polls: 1_000_000 }, provisioning: { polls: 1 } } });
      const abort = new AbortController();
      const pending = provider().acquire(bareMetal(), abort.signal);
      await until(() => calls('SoftLayer_Hardware::getObject').length >= 2);
      abort.abort(new Error('^C'));
      // SoftLayer processes the order only now, while the clean-up waits for it.
      const server = fake.state.machines[0]!;
      await until(() => calls('SoftLayer_Hardware::getObject').length >= 4);
      server.phasePolls = Number.POSITIVE_INFINITY;
      await expect(pending).rejects.toThrow('^C');
      expect(calls('SoftLayer_Billing_Item::cancelItem').at(-1)!.status).toBe(200);
      expect(server.billingItemId).toBeUndefined();
      expect([...ledger.entries.values()].map((e) => e.status)).toEqual(['released']);
    },
  );

  it(
    'an order SoftLayer withdraws, or one whose reply was lost and that is not listed by its deadline, was never created',
    { timeout: 15_000 },
    async () => {
      await fake.close();
      await setup({ hardware: { approval: { polls: 1_000_000 } } });
      const abort = new AbortController();
      const pending = provider().acquire(bareMetal(), abort.signal);
      await until(() => calls('SoftLayer_Hardware::getObject').length >= 2);
      abort.abort(new Error('^C'));
      fake.state.machines[0]!.phase = 'gone'; // the order was refused after the fact
      await expect(pending).rejects.toThrow('^C');
      const [withdrawn] = ledger.entries.values();
      expect(withdrawn).toMatchObject({ status: 'failed', error: `by-${withdrawn!.key} was never created` });

      // The reply to createObject is lost and the order never happens: not listed within its
      // 1 s deadline, it is closed, not left `releasing` for ever.
      fake.inject('SoftLayer_Hardware::createObject', { status: 502, error: 'Bad Gateway' });
      const started = Date.now();
      const err = await provider()
        .acquire(bareMetal({ deadline: '1s' }), AbortSignal.timeout(10_000))
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProvisionError);
      const lost = [...ledger.entries.values()][1]!;
      expect(lost).toMatchObject({ status: 'failed', error: `by-${lost.key} was never created` });
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
      expect(calls('SoftLayer_Account::getHardware').length).toBeGreaterThan(1);
    },
  );
});

describe('SoftlayerProvider: absent, for bare metal whose order reply was lost', () => {
  it("is absent only once nothing is listed and the order's deadline has passed", async () => {
    const p = provider();
    const entry = ledger.intend(
      { provider: 'softlayer', kind: 'hardware', details: { endpoint: fake.url, domain: 'benchyard.local' } },
      new Date(Date.now() + 3_600_000),
    );
    const ref = (listedBy: number) => ({
      provider: 'softlayer',
      kind: 'hardware',
      id: '',
      ledgerKey: entry.key,
      details: { ...entry.details, listedBy: new Date(listedBy).toISOString() },
    });
    const signal = AbortSignal.timeout(5_000);
    expect(await p.absent(ref(Date.now() + 60_000), signal)).toBe(false); // it may still be listed
    expect(await p.absent(ref(Date.now() - 1), signal)).toBe(true);
    fake.seed({ type: 'SoftLayer_Hardware', hostname: `by-${entry.key}`, domain: 'benchyard.local' });
    expect(await p.absent(ref(Date.now() - 1), signal)).toBe(false); // listed after all
  });
});

describe('SoftlayerProvider: gc', () => {
  it(
    'discovers a tagged guest whose controller died and an untagged one its ledger names, and destroys them',
    { timeout: 15_000 },
    async () => {
      const { post } = restOf(w);
      const dead = provider();
      const machine = await dead.acquire(target(), AbortSignal.timeout(5_000)); // never released
      // A second controller died between createObject and setTags: only the host name and its ledger entry say it is ours.
      const lost = ledger.intend(
        {
          provider: 'softlayer',
          kind: 'virtual-guest',
          details: { endpoint: fake.url, domain: 'benchyard.local' },
        },
        new Date(Date.now() + 3_600_000),
      );
      const orphan = await post('SoftLayer_Virtual_Guest.json', {
        hostname: `by-${lost.key}`,
        domain: 'benchyard.local',
        datacenter: { name: 'fra02' },
        hourlyBillingFlag: true,
        supplementalCreateObjectOptions: { flavorKeyName: 'B1_2X4X25' },
        operatingSystemReferenceCode: 'UBUNTU_22_64',
      });
      await post('SoftLayer_Virtual_Guest.json', {
        hostname: 'web-1',
        domain: 'example.com',
        datacenter: { name: 'dal10' },
        hourlyBillingFlag: true,
        supplementalCreateObjectOptions: { flavorKeyName: 'B1_2X4X25' },
        operatingSystemReferenceCode: 'UBUNTU_22_64',
      });

      const gc = provider();
      // Only where the ledger says something was created: the hints carry the endpoint.
      expect(await gc.discover({ hints: [], signal: AbortSignal.timeout(5_000) })).toEqual([]);
      const where = { provider: 'softlayer', kind: 'virtual-guest', id: '', details: { endpoint: fake.url } };
      const all = await gc.discover({ hints: [where], signal: AbortSignal.timeout(5_000) });
      const [entry] = ledger.entries.values();
      // The untagged one proves nothing without its ledger entry: left alone, with a warning.
      expect(all.map((r) => r.id)).toEqual([machine.id.split(':')[1]]);
      expect(logger.lines.join('\n')).toMatch(
        new RegExp(`by-${lost.key}.* left alone: named like benchyard's`),
      );
      expect(all[0]).toMatchObject({
        provider: 'softlayer',
        kind: 'virtual-guest',
        region: 'dal10',
        session: 'sess-1',
        owner: 'tester@lab-host',
        expiresAt: entry!.expiresAt,
        ledgerKey: entry!.key,
        state: 'active',
        details: { endpoint: fake.url, hostname: `by-${entry!.key}`, domain: 'benchyard.local' },
      });

      // Its ledger entry (the hint) names it, and the session it belongs to.
      const hint = {
        provider: 'softlayer',
        kind: 'virtual-guest',
        id: '',
        ledgerKey: lost.key,
        session: lost.session,
        details: lost.details,
      };
      const mine = await gc.discover({
        session: 'sess-1',
        hints: [hint],
        signal: AbortSignal.timeout(5_000),
      });
      expect(mine.map((r) => r.id).sort()).toEqual([machine.id.split(':')[1], String(orphan.id)].sort());
      expect(mine.find((r) => r.ledgerKey === lost.key)).toMatchObject({
        region: 'fra02',
        session: 'sess-1',
      });
      expect(
        await gc.discover({ session: 'other', hints: [hint], signal: AbortSignal.timeout(5_000) }),
      ).toEqual([]);

      for (const ref of mine) await gc.destroy(ref, AbortSignal.timeout(5_000));
      await gc.destroy(mine[0]!, AbortSignal.timeout(5_000)); // already gone: fine
      expect(fake.state.machines.filter((m) => m.phase !== 'gone').map((m) => m.hostname)).toEqual(['web-1']);
      expect(ledger.get(entry!.key)!.status).toBe('released');
      expect(ledger.get(lost.key)!.status).toBe('released');
      expect(await gc.discover({ hints: [where], signal: AbortSignal.timeout(5_000) })).toEqual([]);
    },
  );
});

describe('SoftlayerProvider: credentials', () => {
  it(
    'rejected credentials are a clear InputError that never carries the key',
    { timeout: 10_000 },
    async () => {
      const wrongKey = randomBytes(32).toString('hex');
      const err = await provider(wrongKey)
        .acquire(target(), AbortSignal.timeout(5_000))
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InputError);
      expect((err as Error).message).toMatch(/rejected the API credentials .*SL_USERNAME \/ SL_API_KEY/);
      expect(calls('createObject')[0]!.status).toBe(401);
      const everything = JSON.stringify({
        err,
        message: (err as Error).message,
        meta: (err as InputError).meta,
        cause: String((err as Error).cause),
      });
      expect(everything + secretsIn()).not.toContain(wrongKey);
      expect(ledger.open()).toEqual([]);
    },
  );

  it('come from SL_USERNAME / SL_API_KEY, else ~/.softlayer, and say where they were looked for', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'sl-creds-'));
    try {
      const file = path.join(dir, '.softlayer');
      expect(
        await loadCredentials({ env: { SL_USERNAME: 'u1', SL_API_KEY: API_KEY }, files: [file] }),
      ).toEqual({
        username: 'u1',
        apiKey: API_KEY,
      });
      await writeFile(
        file,
        `[softlayer]\nusername = u2\napi_key = ${API_KEY}\nendpoint_url = https://api.softlayer.com/xmlrpc/v3.1/\ntimeout = 0\n`,
      );
      expect(await loadCredentials({ env: {}, files: [file] })).toEqual({
        username: 'u2',
        apiKey: API_KEY,
        endpoint: 'https://api.softlayer.com/rest/v3.1/',
      });
      const err = await loadCredentials({ env: {}, files: [path.join(dir, 'missing')] }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(InputError);
      expect((err as Error).message).toMatch(
        /no SoftLayer username and API key found.*SL_USERNAME.*missing \(not found\)/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

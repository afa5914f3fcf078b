/**
 * The SoftLayer provider against the local fake of the SoftLayer REST API
 * (test/helpers/softlayer-fake.ts), with an in-memory ledger and a connector that hands
 * out sessions without SSH (both ports).
 */
import Docker from 'dockerode';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  InputError,
  ProvisionError,
  systemClock,
  type Ledger,
  type LedgerEntry,
  type LedgerIntent,
  type Logger,
  type MachineConnector,
  type ProviderContext,
  type SshEndpoint,
  type SshSession,
} from '../../src/core/index.js';
import { softlayerTarget } from '../../src/config/targets/softlayer.js';
import { SoftlayerClient } from '../../providers/softlayer/client.js';
import { loadCredentials } from '../../providers/softlayer/credentials.js';
import { SoftlayerProvider } from '../../providers/softlayer/softlayer-provider.js';
import {
  SL_ERRORS,
  startSoftlayerFake,
  type SoftlayerFake,
  type SoftlayerFakeOptions,
} from '../helpers/softlayer-fake.js';

const USER = 'SL778899';
const API_KEY = randomBytes(32).toString('hex'); // an SL API key: 64 hex characters

/** The ledger port, in memory; every write notes how many API requests had been made before it. */
class MemoryLedger implements Ledger {
  readonly session = 'sess-1';
  readonly owner = 'tester@lab-host';
  readonly entries = new Map<string, LedgerEntry>();
  readonly writes: {
    op: 'intend' | 'update' | 'close';
    key: string;
    requestsBefore: number;
    status?: string;
  }[] = [];
  constructor(private readonly requestCount: () => number) {}

  intend(intent: LedgerIntent, expiresAt: Date): LedgerEntry {
    const now = new Date().toISOString();
    const entry: LedgerEntry = {
      key: randomBytes(6).toString('hex'),
      provider: intent.provider,
      kind: intent.kind,
      session: this.session,
      owner: this.owner,
      ...(intent.target ? { target: intent.target } : {}),
      ...(intent.region ? { region: intent.region } : {}),
      status: 'creating',
      createdAt: now,
      updatedAt: now,
      expiresAt: expiresAt.toISOString(),
      details: { ...intent.details },
    };
    this.entries.set(entry.key, entry);
    this.writes.push({ op: 'intend', key: entry.key, requestsBefore: this.requestCount() });
    return entry;
  }
  update(key: string, patch: Parameters<Ledger['update']>[1]): LedgerEntry {
    const cur = this.entries.get(key);
    if (!cur) throw new Error(`ledger: no entry '${key}'`);
    const { details, ...rest } = patch;
    const next = {
      ...cur,
      ...rest,
      details: { ...cur.details, ...details },
      updatedAt: new Date().toISOString(),
    };
    this.entries.set(key, next);
    this.writes.push({
      op: 'update',
      key,
      requestsBefore: this.requestCount(),
      ...(patch.status ? { status: patch.status } : {}),
    });
    return next;
  }
  close(key: string, status: 'released' | 'failed' = 'released', error?: string): void {
    const cur = this.entries.get(key);
    if (!cur) return;
    this.entries.set(key, { ...cur, status, ...(error ? { error } : {}) });
    this.writes.push({ op: 'close', key, requestsBefore: this.requestCount(), status });
  }
  get(key: string) {
    return this.entries.get(key);
  }
  open(filter: { provider?: string; session?: string } = {}) {
    return [...this.entries.values()].filter(
      (e) =>
        e.status !== 'released' &&
        e.status !== 'failed' &&
        (!filter.provider || e.provider === filter.provider) &&
        (!filter.session || e.session === filter.session),
    );
  }
}

class RecordingLogger implements Logger {
  readonly lines: string[] = [];
  private log(level: string, message: string, context?: Record<string, unknown>) {
    this.lines.push(`${level} ${message} ${context ? JSON.stringify(context) : ''}`);
  }
  debug = (m: string, c?: Record<string, unknown>) => this.log('debug', m, c);
  info = (m: string, c?: Record<string, unknown>) => this.log('info', m, c);
  warn = (m: string, c?: Record<string, unknown>) => this.log('warn', m, c);
  error = (m: string, c?: Record<string, unknown>) => this.log('error', m, c);
}

/** Sessions without SSH; the provider must never use Docker itself, so any engine will do. */
class FakeConnector implements MachineConnector {
  readonly endpoints: SshEndpoint[] = [];
  closed = 0;
  async connect(endpoint: SshEndpoint, signal: AbortSignal): Promise<SshSession> {
    signal.throwIfAborted();
    this.endpoints.push(endpoint);
    const close = async () => {
      this.closed++;
    };
    return {
      docker: new Docker({ socketPath: '/var/run/docker.sock' }),
      endpoint,
      exec: async () => ({ code: 0, stdout: '', stderr: '' }),
      closed: new Promise<void>(() => {}),
      close,
      [Symbol.asyncDispose]: close,
    };
  }
}

let fake: SoftlayerFake;
let ledger: MemoryLedger;
let logger: RecordingLogger;
let connector: FakeConnector;

async function setup(opts: SoftlayerFakeOptions = {}) {
  fake = await startSoftlayerFake({ username: USER, apiKey: API_KEY, ...opts });
  ledger = new MemoryLedger(() => fake.requests.length);
  logger = new RecordingLogger();
  connector = new FakeConnector();
}

function provider(apiKey = API_KEY) {
  const ctx: ProviderContext = {
    ledger,
    connector,
    maxLifetimeMs: 6 * 3_600_000,
    clock: systemClock,
    logger,
    price: (q) =>
      q.instanceType === 'AC1_8X60X25' ? { usd: 2.5, asOf: '2025-01-01', source: 'test' } : undefined,
  };
  return new SoftlayerProvider(ctx, {
    client: (endpoint) =>
      new SoftlayerClient({
        endpoint,
        username: USER,
        apiKey,
        clock: systemClock,
        logger,
        baseDelayMs: 5,
        maxDelayMs: 20,
      }),
    defaultEndpoint: fake.url,
    teardown: { pollIntervalMs: 20, timeoutMs: 5_000 },
  });
}

function target(options: Record<string, unknown> = {}) {
  return {
    name: 'gpu',
    provider: 'softlayer',
    options: softlayerTarget.parse({
      datacenters: ['dal10'],
      flavor: 'AC1_8X60X25',
      sshKeyIds: [42],
      endpoint: fake.url,
      pollInterval: '20ms',
      deadline: '5s',
      ...options,
    }),
  };
}

const calls = (method: string) => fake.requests.filter((r) => `${r.service}::${r.method}`.endsWith(method));
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
    expect(calls('deleteObject').at(-1)!.status).toBe(404);
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

describe('SoftlayerProvider: bare metal', () => {
  it(
    'finds the order by host name, then cancels only once no transaction runs',
    { timeout: 15_000 },
    async () => {
      await fake.close();
      await setup({
        hardware: { approval: { polls: 2 }, provisioning: { polls: 3 }, reclaim: { polls: 50 } },
      });
      const p = provider();
      const machine = await p.acquire(
        target({ kind: 'hardware', flavor: undefined, preset: 'D2620V4_128GB_2X800GB_SSD_RAID_1_K80_GPU2' }),
        AbortSignal.timeout(10_000),
      );
      const server = fake.state.machines[0]!;
      expect(server.type).toBe('SoftLayer_Hardware');
      expect(machine).toMatchObject({
        id: `softlayer:${server.id}`,
        instanceType: 'D2620V4_128GB_2X800GB_SSD_RAID_1_K80_GPU2',
      });
      expect(calls('SoftLayer_Hardware::createObject')[0]!.params[0]).toMatchObject({
        fixedConfigurationPreset: { keyName: 'D2620V4_128GB_2X800GB_SSD_RAID_1_K80_GPU2' },
        operatingSystemReferenceCode: 'UBUNTU_22_64',
        hourlyBillingFlag: true,
      });
      const [entry] = ledger.entries.values();
      expect(entry).toMatchObject({ kind: 'hardware', resourceId: String(server.id) });
      expect(entry!.details.globalIdentifier).toBe(server.globalIdentifier);
      // The id came from Account::getHardware filtered by host name and domain.
      const lookups = calls('SoftLayer_Account::getHardware');
      expect(lookups.length).toBeGreaterThanOrEqual(2);
      expect(lookups[0]!.filter).toEqual({
        hardware: { hostname: { operation: `by-${entry!.key}` }, domain: { operation: 'benchyard.local' } },
      });
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
});

describe('SoftlayerProvider: gc', () => {
  it(
    'discovers a guest whose controller died, by tag and by host name, and destroys it',
    { timeout: 15_000 },
    async () => {
      const dead = provider();
      const machine = await dead.acquire(target(), AbortSignal.timeout(5_000)); // never released
      // A second controller died between createObject and setTags: only the host name says it is ours.
      const orphan = await post('SoftLayer_Virtual_Guest.json', {
        hostname: 'by-0123456789ab',
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
      expect(all.map((r) => r.id).sort()).toEqual([machine.id.split(':')[1], String(orphan.id)].sort());
      expect(all.find((r) => r.ledgerKey === entry!.key)).toMatchObject({
        provider: 'softlayer',
        kind: 'virtual-guest',
        region: 'dal10',
        session: 'sess-1',
        owner: 'tester@lab-host',
        expiresAt: entry!.expiresAt,
        state: 'active',
        details: { endpoint: fake.url, hostname: `by-${entry!.key}` },
      });
      expect(all.find((r) => r.ledgerKey === '0123456789ab')).toMatchObject({ region: 'fra02' });
      expect(all.find((r) => r.ledgerKey === '0123456789ab')!.session).toBeUndefined();

      // By session: the untagged one belongs to the session its ledger entry (the hint) names.
      const hint = {
        provider: 'softlayer',
        kind: 'virtual-guest',
        id: '',
        ledgerKey: '0123456789ab',
        session: 'sess-1',
        details: { endpoint: fake.url },
      };
      const mine = await gc.discover({
        session: 'sess-1',
        hints: [hint],
        signal: AbortSignal.timeout(5_000),
      });
      expect(mine).toHaveLength(2);
      expect(
        await gc.discover({ session: 'other', hints: [hint], signal: AbortSignal.timeout(5_000) }),
      ).toEqual([]);

      for (const ref of mine) await gc.destroy(ref, AbortSignal.timeout(5_000));
      await gc.destroy(mine[0]!, AbortSignal.timeout(5_000)); // already gone: fine
      expect(fake.state.machines.filter((m) => m.phase !== 'gone').map((m) => m.hostname)).toEqual(['web-1']);
      expect(ledger.get(entry!.key)!.status).toBe('released');
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

describe('SoftLayer fake: the REST API as documented', () => {
  it('serves both URL styles, masks, filters and result limits', { timeout: 10_000 }, async () => {
    await fake.close();
    await setup({ provisioning: { polls: 100 } });
    // softlayer-go style: POST to the service = createObject; GET by id = getObject.
    const res = await fetch(`${fake.url}SoftLayer_Virtual_Guest.json`, {
      method: 'POST',
      headers: auth(),
      body: JSON.stringify({
        parameters: [
          {
            hostname: 'h1',
            domain: 'x.com',
            datacenter: { name: 'dal10' },
            hourlyBillingFlag: true,
            startCpus: 1,
            maxMemory: 1024,
            localDiskFlag: true,
            operatingSystemReferenceCode: 'UBUNTU_LATEST',
          },
        ],
      }),
    });
    expect(res.status).toBe(201);
    const created = (await res.json()) as { id: number; globalIdentifier: string };
    expect(res.headers.get('location')).toBe(`${fake.url}SoftLayer_Virtual_Guest/${created.id}/getObject`);

    const plain = await get(`SoftLayer_Virtual_Guest/${created.id}.json`);
    expect(plain).toMatchObject({ id: created.id, hostname: 'h1', fullyQualifiedDomainName: 'h1.x.com' });
    expect(plain).not.toHaveProperty('datacenter'); // relational: only when masked
    expect(plain).not.toHaveProperty('provisionDate');

    // softlayer-python style, without .json, mask[...] and the short forms.
    const masked = await get(
      `SoftLayer_Virtual_Guest/${created.id}/getObject?objectMask=mask[id,datacenter[name],activeTransaction[transactionStatus[name]],primaryIpAddress]`,
    );
    expect(Object.keys(masked).sort()).toEqual(['activeTransaction', 'datacenter', 'id']); // no IP yet: left out, not null
    expect(masked.datacenter).toEqual({ name: 'dal10' });
    expect(
      await get(`SoftLayer_Virtual_Guest/${created.id}/getObject.json?objectMask=id;datacenter.name`),
    ).toEqual({
      id: created.id,
      datacenter: { name: 'dal10' },
    });
    expect(
      await get(
        `SoftLayer_Virtual_Guest/${created.id}/getObject.json?objectMask=${encodeURIComponent('mask.id,mask.datacenter.name')}`,
      ),
    ).toEqual({
      id: created.id,
      datacenter: { name: 'dal10' },
    });
    const bad = await fetch(
      `${fake.url}SoftLayer_Virtual_Guest/${created.id}/getObject.json?objectMask=mask[nope]`,
      { headers: auth() },
    );
    expect(bad.status).toBe(500);
    expect(await bad.json()).toEqual({
      error: "Property 'nope' not valid for 'SoftLayer_Virtual_Guest'.",
      code: 'SoftLayer_Exception_Public',
    });

    // Relational property names without "get" (REST article "Rest Url Tricks"), filters, limits.
    const filter = encodeURIComponent(JSON.stringify({ virtualGuests: { hostname: { operation: '^= h' } } }));
    const page = await fetch(
      `${fake.url}SoftLayer_Account/VirtualGuests.json?objectFilter=${filter}&resultLimit=0,1&objectMask=mask[id]`,
      { headers: auth() },
    );
    expect(page.headers.get('softlayer-total-items')).toBe('1');
    expect(await page.json()).toEqual([{ id: created.id }]);

    // Parameters sent with GET are ignored by the API.
    const getTags = await fetch(`${fake.url}SoftLayer_Virtual_Guest/${created.id}/setTags.json`, {
      headers: auth(),
    });
    expect(getTags.status).toBe(500);

    // Wrong credentials: 401 with the documented body.
    const denied = await fetch(`${fake.url}SoftLayer_Account/getVirtualGuests.json`, {
      headers: auth('wrong'),
    });
    expect(denied.status).toBe(401);
    expect(await denied.json()).toEqual({ error: 'Access Denied. ', code: 'SoftLayer_Exception_Public' });

    // DELETE without a method is deleteObject; with one it is 404 (softlayer-python issue #962).
    expect(
      (
        await fetch(`${fake.url}SoftLayer_Virtual_Guest/${created.id}/deleteObject.json`, {
          method: 'DELETE',
          headers: auth(),
        })
      ).status,
    ).toBe(404);
    const del = await fetch(`${fake.url}SoftLayer_Virtual_Guest/${created.id}.json`, {
      method: 'DELETE',
      headers: auth(),
    });
    expect(await del.json()).toBe(true);
    await get(`SoftLayer_Virtual_Guest/${created.id}.json`); // the reclaim transaction runs
    const gone = await fetch(`${fake.url}SoftLayer_Virtual_Guest/${created.id}.json`, { headers: auth() });
    expect(gone.status).toBe(404);
    expect(await gone.json()).toEqual({
      error: `Unable to find object with id of '${created.id}'.`,
      code: 'SoftLayer_Exception_ObjectNotFound',
    });
  });

  it(
    'answers hardware orders with id null and lets them be polled by globalIdentifier',
    { timeout: 10_000 },
    async () => {
      const order = await post('SoftLayer_Hardware/createObject', {
        hostname: 'bm1',
        domain: 'x.com',
        datacenter: { name: 'dal10' },
        hourlyBillingFlag: true,
        fixedConfigurationPreset: { keyName: 'S1270_8GB_2X1TBSATA_NORAID' },
        operatingSystemReferenceCode: 'UBUNTU_22_64',
      });
      expect(order.id).toBeNull();
      const byGuid = await get(
        `SoftLayer_Hardware/${order.globalIdentifier}/getObject.json?objectMask=mask[id,provisionDate,globalIdentifier]`,
      );
      expect(byGuid).toEqual({ id: null, provisionDate: null, globalIdentifier: order.globalIdentifier }); // local: null
      const typed = await get(
        `SoftLayer_Account/getHardware.json?objectMask=${encodeURIComponent('[mask[id,hostname],mask(SoftLayer_Hardware_Server)[activeTransaction[id,transactionStatus[name]]]]')}`,
      );
      expect(typed).toEqual([
        {
          id: expect.any(Number),
          hostname: 'bm1',
          activeTransaction: { id: expect.any(Number), transactionStatus: { name: 'HARDWARE_ASSIGN' } },
        },
      ]);
      // activeTransaction is a SoftLayer_Hardware_Server property: untyped, it is refused.
      const untyped = await fetch(
        `${fake.url}SoftLayer_Account/getHardware.json?objectMask=mask[activeTransaction]`,
        { headers: auth() },
      );
      expect(untyped.status).toBe(500);
    },
  );
});

async function until(condition: () => boolean, timeoutMs = 5_000) {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

function auth(key = API_KEY) {
  return { authorization: `Basic ${Buffer.from(`${USER}:${key}`).toString('base64')}` };
}

async function get(pathAndQuery: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${fake.url}${pathAndQuery}`, { headers: auth() });
  if (!res.ok) throw new Error(`${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, unknown>;
}

async function post(pathAndQuery: string, template: Record<string, unknown>) {
  const res = await fetch(`${fake.url}${pathAndQuery}`, {
    method: 'POST',
    headers: { ...auth(), 'content-type': 'application/json' },
    body: JSON.stringify({ parameters: [template] }),
  });
  if (res.status !== 201) throw new Error(`${res.status} ${await res.text()}`);
  return (await res.json()) as { id: number | null; globalIdentifier: string };
}

/**
 * The EC2 provider against moto (the real EC2 API emulator), with a fault-injecting proxy
 * for the capacity and quota errors moto cannot produce, and the local SSH hosts standing
 * in for the instances' addresses, so `acquire` ends with a real Docker engine answering.
 */
import { dockerOfMachine } from '../helpers/docker-runner.js';
import { DescribeInstanceAttributeCommand, DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsProvider } from '../../providers/aws/index.js';
import { Ssh2Connector } from '../../providers/ssh/index.js';
import {
  CLOUD_TAGS,
  InfrastructureError,
  OwnershipError,
  ProvisionError,
  redact,
  systemClock,
  type Logger,
  type ProviderContext,
  type TargetSpec,
} from '../../src/core/index.js';
import { SqliteLedger } from '../../src/ledger/index.js';
import {
  INSTANCE_LIMIT,
  INSUFFICIENT_CAPACITY,
  startEc2FaultProxy,
  type Ec2Fault,
  type RunInstancesCall,
} from '../helpers/ec2-fault-proxy.js';
import { awsTestTarget, requireMoto, requireSshHosts, type DevSshHost } from '../helpers/remote-hosts.js';

const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
let hosts: readonly DevSshHost[];
let moto: string;
let state: string;
let decide: (call: RunInstancesCall) => Ec2Fault | undefined = () => undefined;
let proxy: Awaited<ReturnType<typeof startEc2FaultProxy>>;
const logLines: string[] = [];
const logger: Logger = {
  debug: (m, c) => void logLines.push(`${m} ${JSON.stringify(c ?? {})}`),
  info: (m, c) => void logLines.push(`${m} ${JSON.stringify(c ?? {})}`),
  warn: (m, c) => void logLines.push(`${m} ${JSON.stringify(c ?? {})}`),
  error: (m, c) => void logLines.push(`${m} ${JSON.stringify(c ?? {})}`),
};

beforeAll(async () => {
  hosts = await requireSshHosts();
  moto = await requireMoto();
  process.env.AWS_ACCESS_KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
  process.env.AWS_SECRET_ACCESS_KEY = SECRET;
  proxy = await startEc2FaultProxy(moto, (c) => decide(c));
  state = mkdtempSync(path.join(os.tmpdir(), 'benchyard-aws-'));
});
afterAll(async () => {
  await proxy?.close();
  rmSync(state, { recursive: true, force: true });
});

function setup(session: string) {
  const ledger = new SqliteLedger(state, session);
  let next = 0;
  const ctx: ProviderContext = {
    ledger,
    connector: new Ssh2Connector({ logger }),
    maxLifetimeMs: 3_600_000,
    clock: systemClock,
    logger,
    resolveAddress: () => hosts[next++ % hosts.length]!.address,
    price: (q) =>
      q.instanceType === 'g4dn.xlarge' ? { usd: 0.526, asOf: '2025-01-15', source: 'test' } : undefined,
  };
  return { ledger, provider: new AwsProvider(ctx, { pollMs: 100 }) };
}

function target(options: Record<string, unknown>): TargetSpec {
  return awsTestTarget(hosts[0]!, proxy.url, options);
}

async function instance(region: string, id: string) {
  const ec2 = new EC2Client({ region, endpoint: moto });
  const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
  return out.Reservations![0]!.Instances![0]!;
}

describe('AWS EC2 provider (moto)', () => {
  it(
    'records the instance before RunInstances, tags it, arms the dead-man switch, and terminates it on release',
    { timeout: 60_000 },
    async () => {
      decide = () => undefined;
      const { ledger, provider } = setup('s-aws-roundtrip');
      let openAtCreate: number | undefined;
      decide = () => {
        openAtCreate = ledger.open({ session: 's-aws-roundtrip' }).length;
        return undefined;
      };
      const machine = await provider.acquire(target({}), AbortSignal.timeout(50_000));
      expect(openAtCreate).toBe(1); // the ledger entry existed when the create call arrived
      expect(machine.instanceType).toBe('g4dn.xlarge');
      expect(machine.region).toBe('us-east-1');
      expect(machine.zone).toMatch(/^us-east-1[a-f]$/);
      expect(machine.hourlyPriceUsd).toBe(0.526);
      expect(machine.hardware?.gpus?.[0]).toMatchObject({ count: 1 });
      expect(await dockerOfMachine(machine).ping()).toBeTruthy();

      const id = machine.id.replace('aws:', '');
      const inst = await instance('us-east-1', id);
      const tags = Object.fromEntries((inst.Tags ?? []).map((t) => [t.Key, t.Value]));
      expect(tags[CLOUD_TAGS.session]).toBe('s-aws-roundtrip');
      expect(tags[CLOUD_TAGS.expiresAt]).toMatch(/^\d{4}-\d\d-\d\dT/);
      const entry = ledger.open({ session: 's-aws-roundtrip' })[0]!;
      expect(entry).toMatchObject({ resourceId: id, status: 'active', region: 'us-east-1' });
      expect(tags[CLOUD_TAGS.ledgerKey]).toBe(entry.key);
      const ec2 = new EC2Client({ region: 'us-east-1', endpoint: moto });
      const behaviour = await ec2.send(
        new DescribeInstanceAttributeCommand({
          InstanceId: id,
          Attribute: 'instanceInitiatedShutdownBehavior',
        }),
      );
      expect(behaviour.InstanceInitiatedShutdownBehavior?.Value).toBe('terminate');
      const userData = await ec2.send(
        new DescribeInstanceAttributeCommand({ InstanceId: id, Attribute: 'userData' }),
      );
      const script = Buffer.from(userData.UserData?.Value ?? '', 'base64').toString('utf8');
      expect(script).toContain(`EXPIRES=${Math.floor(Date.parse(entry.expiresAt) / 1000)}`);
      expect(script).toContain('poweroff');

      await provider.release(machine, AbortSignal.timeout(30_000));
      await provider.release(machine, AbortSignal.timeout(30_000)); // idempotent
      expect((await instance('us-east-1', id)).State?.Name).toBe('terminated');
      expect(ledger.open({ session: 's-aws-roundtrip' })).toEqual([]);
    },
  );

  it(
    'moves to the next zone on a capacity error and to the next region on a quota error, never changing the type',
    { timeout: 60_000 },
    async () => {
      const { ledger, provider } = setup('s-aws-failover');
      decide = (c) =>
        c.region === 'us-east-1' && c.zone === 'us-east-1a'
          ? INSUFFICIENT_CAPACITY
          : c.region === 'us-east-1'
            ? INSTANCE_LIMIT
            : undefined;
      const before = proxy.calls.length;
      const machine = await provider.acquire(
        target({ regions: ['us-east-1', 'us-west-2'], zones: ['us-east-1a', 'us-east-1b', 'us-west-2a'] }),
        AbortSignal.timeout(50_000),
      );
      const calls = proxy.calls.slice(before);
      expect(calls.map((c) => c.zone).filter((z, i, a) => a.indexOf(z) === i)).toEqual([
        'us-east-1a',
        'us-east-1b',
        'us-west-2a',
      ]);
      expect(new Set(calls.map((c) => c.instanceType))).toEqual(new Set(['g4dn.xlarge']));
      expect(machine).toMatchObject({ region: 'us-west-2', zone: 'us-west-2a', instanceType: 'g4dn.xlarge' });
      // The refused attempts left no open entries; the live one is open until release.
      const open = ledger.open({ session: 's-aws-failover' });
      expect(open.map((e) => e.region)).toEqual(['us-west-2']);
      await provider.release(machine, AbortSignal.timeout(30_000));
      expect(ledger.open({ session: 's-aws-failover' })).toEqual([]);
    },
  );

  it(
    'gives up with QUOTA when every region is over its limit, leaving nothing behind',
    { timeout: 30_000 },
    async () => {
      const { ledger, provider } = setup('s-aws-quota');
      decide = () => INSTANCE_LIMIT;
      const err = await provider
        .acquire(target({ zones: ['us-east-1a'] }), AbortSignal.timeout(20_000))
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProvisionError);
      expect((err as ProvisionError).failureClass).toBe('QUOTA');
      expect(ledger.open({ session: 's-aws-quota' })).toEqual([]);
    },
  );

  it(
    'discovers a tagged instance a dead controller left and destroys it, confirming termination',
    { timeout: 60_000 },
    async () => {
      decide = () => undefined;
      const dead = setup('s-aws-dead');
      const machine = await dead.provider.acquire(
        target({ zones: ['us-east-1c'] }),
        AbortSignal.timeout(50_000),
      );
      await machine.ssh?.close(); // the controller "dies": nothing released
      const { provider } = setup('s-aws-gc');
      const hints = dead.ledger.open({ session: 's-aws-dead' }).map((e) => ({
        provider: 'aws',
        kind: e.kind,
        id: e.resourceId ?? '',
        region: e.region!,
        ledgerKey: e.key,
        details: e.details,
      }));
      const found = await provider.discover({
        session: 's-aws-dead',
        hints,
        signal: AbortSignal.timeout(20_000),
      });
      expect(found.map((f) => f.id)).toEqual([machine.id.replace('aws:', '')]);
      expect(found[0]).toMatchObject({
        session: 's-aws-dead',
        ledgerKey: hints[0]!.ledgerKey,
        state: 'running',
      });
      await provider.destroy(found[0]!, AbortSignal.timeout(30_000));
      expect((await instance('us-east-1', found[0]!.id)).State?.Name).toBe('terminated');
      expect(
        await provider.discover({ session: 's-aws-dead', hints, signal: AbortSignal.timeout(20_000) }),
      ).toEqual([]);
    },
  );

  it(
    'absent: false while the instance of an entry lives or it cannot be told, true once EC2 has nothing of it',
    { timeout: 60_000 },
    async () => {
      decide = () => undefined;
      const dead = setup('s-aws-absent');
      const machine = await dead.provider.acquire(
        target({ zones: ['us-east-1d'] }),
        AbortSignal.timeout(50_000),
      );
      await machine.ssh?.close();
      const e = dead.ledger.open({ session: 's-aws-absent' })[0]!;
      const ref = {
        provider: 'aws',
        kind: e.kind,
        id: e.resourceId!,
        region: e.region!,
        session: e.session,
        ledgerKey: e.key,
        details: e.details,
      };
      const { provider } = setup('s-aws-absent-gc');
      expect(await provider.absent(ref, AbortSignal.timeout(20_000))).toBe(false);
      // No recorded id (RunInstances unanswered): the tag alone says it is there.
      expect(await provider.absent({ ...ref, id: '' }, AbortSignal.timeout(20_000))).toBe(false);
      const unreachable = { ...ref, details: { endpoint: 'http://127.0.0.1:1' } };
      expect(await provider.absent(unreachable, AbortSignal.timeout(20_000))).toBe(false);
      await provider.destroy(ref, AbortSignal.timeout(30_000));
      expect(await provider.absent(ref, AbortSignal.timeout(20_000))).toBe(true);
      expect(await provider.absent({ ...ref, id: '' }, AbortSignal.timeout(20_000))).toBe(true);
    },
  );

  it(
    'destroy refuses a reference with no identity, or one the instance does not carry, and touches nothing',
    { timeout: 60_000 },
    async () => {
      decide = () => undefined;
      const { ledger, provider } = setup('s-aws-refuse');
      const machine = await provider.acquire(target({ zones: ['us-east-1e'] }), AbortSignal.timeout(50_000));
      const id = machine.id.replace('aws:', '');
      const key = ledger.open({ session: 's-aws-refuse' })[0]!.key;
      const base = {
        provider: 'aws',
        kind: 'instance',
        id,
        region: 'us-east-1',
        details: { endpoint: proxy.url },
      };
      for (const ref of [
        base,
        { ...base, ledgerKey: 'ffffffffffff' },
        { ...base, ledgerKey: key, session: 'S-AWS-REFUSE' },
      ]) {
        const err = await provider.destroy(ref, AbortSignal.timeout(20_000)).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(OwnershipError);
      }
      expect((await instance('us-east-1', id)).State?.Name).toBe('running');
      await provider.release(machine, AbortSignal.timeout(30_000));
      expect((await instance('us-east-1', id)).State?.Name).toBe('terminated');
    },
  );

  it(
    'an unreachable endpoint is an infrastructure error naming the provider, the endpoint and the region',
    { timeout: 30_000 },
    async () => {
      const { ledger, provider } = setup('s-aws-unreachable');
      const expected =
        'aws: EC2 endpoint http://127.0.0.1:1 (us-east-1) is unreachable: connect ECONNREFUSED';
      const acquired = await provider
        .acquire(target({ endpoint: 'http://127.0.0.1:1' }), AbortSignal.timeout(20_000))
        .catch((e: unknown) => e);
      expect(acquired).toBeInstanceOf(InfrastructureError);
      expect((acquired as Error).message).toContain(expected);
      // With zones given, RunInstances is the first call: the same words, as a provisioning failure.
      const launched = await provider
        .acquire(
          target({ endpoint: 'http://127.0.0.1:1', zones: ['us-east-1a'] }),
          AbortSignal.timeout(20_000),
        )
        .catch((e: unknown) => e);
      expect(launched).toBeInstanceOf(ProvisionError);
      expect((launched as Error).message).toContain(expected);
      ledger.open({ session: 's-aws-unreachable' }).forEach((e) => ledger.close(e.key, 'failed'));
      const hint = {
        provider: 'aws',
        kind: 'instance',
        id: 'i-0123456789abcdef0',
        region: 'us-east-1',
        ledgerKey: '0a1b2c3d4e5f',
        details: { endpoint: 'http://127.0.0.1:1' },
      };
      for (const attempt of [
        () => provider.discover({ hints: [hint], signal: AbortSignal.timeout(20_000) }),
        () => provider.destroy(hint, AbortSignal.timeout(20_000)),
      ]) {
        const err = await attempt().catch((e: unknown) => e);
        expect(err).toBeInstanceOf(InfrastructureError);
        expect((err as Error).message).toContain(expected);
      }
    },
  );

  it('never lets the secret key reach a log line, an error or the ledger', () => {
    expect(redact(`signature made with ${SECRET}`)).not.toContain(SECRET);
    const everything = [...logLines, JSON.stringify(new SqliteLedger(state, 'x').all())].join('\n');
    expect(everything).not.toContain(SECRET);
    expect(everything).not.toContain('PRIVATE KEY');
  });
});

/**
 * Nothing foreign is ever touched: EC2 instances that are not benchyard's (no tags, a Name
 * like ours, a session tag without a ledger key, our tags in another case) stand in moto
 * beside ours, and teardown, `gc`, `gc --session` and `gc --all` run against them twice:
 * through a gateway that drops every filter (moto then answers with the whole region) and
 * straight to moto. Ours end terminated, theirs still running.
 *
 * The instances live in their own region (eu-north-1), so `gc --all` here meets nothing of
 * the other tests.
 */
import {
  DescribeInstancesCommand,
  EC2Client,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsProvider } from '../../providers/aws/index.js';
import { awsTarget } from '../../src/config/targets/aws.js';
import type Docker from 'dockerode';
import {
  CLOUD_TAGS,
  ProvisionError,
  systemClock,
  type Logger,
  type MachineConnector,
} from '../../src/core/index.js';
import { SqliteLedger } from '../../src/ledger/index.js';
import { cli } from '../helpers/cli.js';
import { startEc2Gateway, type Ec2Gateway } from '../helpers/ec2-filter-proxy.js';
import { requireMoto } from '../helpers/remote-hosts.js';

const REGION = 'eu-north-1';
/** The hostile gateway's test has a region of its own: re-cased answers make look-alikes of the others' instances. */
const REGION_RECASED = 'eu-west-3';
/** A pid no process has (pid_max is at most 2^22): the controller that wrote the entry is gone. */
const DEAD_PID = 2_147_483_646;
const PAST = '2000-01-01T00:00:00.000Z';
const FUTURE = '2999-01-01T00:00:00.000Z';
// A wide terminal: gc's table wraps long reasons at the terminal's width, and these tests
// look for whole sentences.
const ENV = {
  AWS_ACCESS_KEY_ID: 'testing',
  AWS_SECRET_ACCESS_KEY: 'testing',
  AWS_REGION: REGION,
  COLUMNS: '1000',
};
const quiet: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
const hex = () => randomBytes(6).toString('hex');

let moto: string;
const clients = new Map<string, EC2Client>();
const dirs: string[] = [];
const created: { id: string; region: string }[] = [];

/** Straight to moto, never through a gateway: what the tests check with. */
function direct(region = REGION): EC2Client {
  let c = clients.get(region);
  if (!c) {
    c = new EC2Client({
      region,
      endpoint: moto,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    });
    clients.set(region, c);
  }
  return c;
}

beforeAll(async () => {
  moto = await requireMoto();
  Object.assign(process.env, ENV);
});
afterAll(async () => {
  for (const { id, region } of created)
    await direct(region).send(new TerminateInstancesCommand({ InstanceIds: [id] }));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function stateDir(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'benchyard-aws-foreign-'));
  dirs.push(d);
  return d;
}

/**
 * The SSH side of a machine is not what these tests are about: a connector that "reaches"
 * every instance at once keeps them independent of the SSH test hosts.
 */
const reachEverything: MachineConnector = {
  connect: (endpoint) =>
    Promise.resolve({
      docker: {} as Docker,
      endpoint,
      exec: () => Promise.resolve({ code: 0, stdout: '', stderr: '' }),
      closed: new Promise<void>(() => {}),
      close: () => Promise.resolve(),
      [Symbol.asyncDispose]: () => Promise.resolve(),
    }),
};

/** A controller with its own state folder and session, talking to `endpoint`. */
function controller(session: string, endpoint: string, region = REGION) {
  const state = stateDir();
  const ledger = new SqliteLedger(state, session);
  const provider = new AwsProvider(
    {
      ledger,
      connector: reachEverything,
      maxLifetimeMs: 3_600_000,
      clock: systemClock,
      logger: quiet,
      resolveAddress: () => '127.0.0.1',
    },
    { pollMs: 100 },
  );
  const target = {
    name: 'gpu',
    provider: 'aws',
    options: awsTarget.parse({
      regions: [region],
      instanceType: 'g4dn.xlarge',
      ami: 'ami-12c6146b',
      endpoint,
    }),
  };
  /** Acquires one instance, then "dies": no release, and its ledger names a dead pid. */
  const abandon = async (): Promise<{ id: string; key: string }> => {
    const machine = await provider.acquire(target, AbortSignal.timeout(50_000));
    await machine.ssh?.close();
    const entry = ledger.open().find((e) => `aws:${e.resourceId}` === machine.id)!;
    ledger.update(entry.key, { details: { controllerPid: DEAD_PID } });
    return { id: entry.resourceId!, key: entry.key };
  };
  return { state, ledger, provider, target, abandon };
}

async function runForeign(tags: Record<string, string>, region = REGION): Promise<string> {
  const out = await direct(region).send(
    new RunInstancesCommand({
      ImageId: 'ami-12c6146b',
      InstanceType: 't3.micro',
      MinCount: 1,
      MaxCount: 1,
      TagSpecifications: [
        { ResourceType: 'instance', Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) },
      ],
    }),
  );
  const id = out.Instances![0]!.InstanceId!;
  created.push({ id, region });
  return id;
}

async function stateOf(id: string, region = REGION): Promise<string | undefined> {
  const out = await direct(region).send(new DescribeInstancesCommand({ InstanceIds: [id] }));
  return out.Reservations?.[0]?.Instances?.find((i) => i.InstanceId === id)?.State?.Name;
}

async function statesOf(
  ids: Record<string, string>,
  region = REGION,
): Promise<Record<string, string | undefined>> {
  const out: Record<string, string | undefined> = {};
  for (const [name, id] of Object.entries(ids)) out[name] = await stateOf(id, region);
  return out;
}

const allRunning = (ids: Record<string, string>) =>
  Object.fromEntries(Object.keys(ids).map((name) => [name, 'running']));

const gc = (state: string, ...args: string[]) => cli(['gc', '--state', state, ...args], { env: ENV });

describe.each([
  { way: 'through a gateway that drops every filter', dropFilters: true },
  { way: 'straight to moto', dropFilters: false },
])('EC2 teardown and gc touch only benchyard’s own instances ($way)', ({ dropFilters }) => {
  const run = `${dropFilters ? 'drop' : 'moto'}-${Date.now()}`;
  const S_TEARDOWN = `s-teardown-${run}`;
  const S_GC = `s-gc-session-${run}`;
  let gateway: Ec2Gateway;
  /** Where the controllers send their calls: the gateway, or moto itself. */
  let endpoint: string;
  let foreign: Record<string, string>;
  /** benchyard's, but another controller's (another ledger key): only `gc --all` may take it. */
  let otherController: string;

  beforeAll(async () => {
    gateway = await startEc2Gateway(moto, { dropFilters });
    endpoint = dropFilters ? gateway.url : moto;
    foreign = {
      prodDb: await runForeign({ Name: 'prod-db-1', team: 'payments' }),
      nameLikeOurs: await runForeign({
        Name: `benchyard-gpu-${hex()}`,
        [CLOUD_TAGS.owner]: 'ci@jenkins',
        [CLOUD_TAGS.expiresAt]: PAST,
      }),
      sessionTagOnly: await runForeign({ [CLOUD_TAGS.session]: S_GC, [CLOUD_TAGS.expiresAt]: PAST }),
      ourTagsInAnotherCase: await runForeign({
        'Benchyard:Session': S_GC,
        'Benchyard:Ledger-Key': hex(),
        'BENCHYARD:EXPIRES-AT': PAST,
      }),
    };
    otherController = await runForeign({
      [CLOUD_TAGS.session]: S_TEARDOWN,
      [CLOUD_TAGS.ledgerKey]: hex(),
      [CLOUD_TAGS.owner]: 'someone@else',
      [CLOUD_TAGS.expiresAt]: FUTURE,
    });
  });
  afterAll(async () => {
    await gateway?.close();
  });

  // Only the filter-dropping variant has a gateway to check (the other talks to moto directly).
  if (dropFilters)
    it('the gateway really answers a filtered question with every instance', async () => {
      const through = new EC2Client({
        region: REGION,
        endpoint: gateway.url,
        credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
      });
      const ids: (string | undefined)[] = [];
      let NextToken: string | undefined;
      do {
        const page = await through.send(
          new DescribeInstancesCommand({
            Filters: [{ Name: `tag:${CLOUD_TAGS.ledgerKey}`, Values: [hex()] }],
            ...(NextToken ? { NextToken } : {}),
          }),
        );
        ids.push(...(page.Reservations ?? []).flatMap((r) => r.Instances ?? []).map((i) => i.InstanceId));
        NextToken = page.NextToken;
      } while (NextToken);
      expect(ids).toEqual(expect.arrayContaining([...Object.values(foreign), otherController]));
    });

  it('teardown: release terminates our instance and nothing else', { timeout: 60_000 }, async () => {
    const c = controller(S_TEARDOWN, endpoint);
    const machine = await c.provider.acquire(c.target, AbortSignal.timeout(50_000));
    await c.provider.release(machine, AbortSignal.timeout(30_000));
    expect(await stateOf(machine.id.replace('aws:', ''))).toBe('terminated');
    expect(c.ledger.open()).toEqual([]);
    expect(await statesOf({ ...foreign, otherController })).toEqual(
      allRunning({ ...foreign, otherController }),
    );
  });

  it(
    'teardown: after an unanswered RunInstances, the cleanup takes down only the instance carrying our key and session',
    { timeout: 60_000 },
    async () => {
      // Both ways need the gateway here, to lose the answer; filters pass or not as the way says.
      gateway.modes.loseRunInstancesAnswer = true;
      const c = controller(S_TEARDOWN, gateway.url);
      const before = gateway.lostInstances.length;
      try {
        const err = await c.provider.acquire(c.target, AbortSignal.timeout(50_000)).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ProvisionError);
        expect((err as ProvisionError).failureClass).toBe('INFRA');
      } finally {
        gateway.modes.loseRunInstancesAnswer = false;
      }
      const lost = gateway.lostInstances.slice(before);
      expect(lost).toHaveLength(1);
      expect(await stateOf(lost[0]!)).toBe('terminated');
      expect(c.ledger.open()).toEqual([]);
      if (dropFilters) expect(gateway.dropped.get('DescribeInstances')).toBeGreaterThan(0);
      // otherController carries the same session tag, with another ledger key.
      expect(await statesOf({ ...foreign, otherController })).toEqual(
        allRunning({ ...foreign, otherController }),
      );
    },
  );

  it(
    'gc: destroys what a dead controller of this state left, nothing else',
    { timeout: 90_000 },
    async () => {
      const c = controller(`s-dead-${run}`, endpoint);
      const ours = await c.abandon();
      const out = await gc(c.state);
      expect(out.code, out.stderr + out.stdout).toBe(0);
      expect(await stateOf(ours.id)).toBe('terminated');
      expect(c.ledger.open()).toEqual([]);
      expect(await statesOf({ ...foreign, otherController })).toEqual(
        allRunning({ ...foreign, otherController }),
      );
    },
  );

  it(
    'gc --session: destroys the session’s instances, also another controller’s, and no look-alike',
    { timeout: 90_000 },
    async () => {
      const here = controller(S_GC, endpoint);
      const elsewhere = controller(S_GC, endpoint); // same session, another state folder
      const inLedger = await here.abandon();
      const byTag = await elsewhere.abandon();
      const out = await gc(here.state, '--session', S_GC);
      expect(out.code, out.stderr + out.stdout).toBe(0);
      expect(await statesOf({ inLedger: inLedger.id, byTag: byTag.id })).toEqual({
        inLedger: 'terminated',
        byTag: 'terminated',
      });
      expect(await statesOf({ ...foreign, otherController })).toEqual(
        allRunning({ ...foreign, otherController }),
      );
    },
  );

  it(
    'gc --all: destroys every instance carrying benchyard’s identity, and nothing without it',
    { timeout: 90_000 },
    async () => {
      const c = controller(`s-all-${run}`, endpoint);
      const ours = await c.abandon();
      const out = await gc(c.state, '--all');
      expect(out.code, out.stderr + out.stdout).toBe(0);
      expect(await statesOf({ ours: ours.id, otherController })).toEqual({
        ours: 'terminated',
        otherController: 'terminated',
      });
      expect(await statesOf(foreign)).toEqual(allRunning(foreign));
      if (dropFilters) expect(gateway.dropped.get('DescribeInstances')).toBeGreaterThan(0);
    },
  );
});

describe('an EC2 answer with re-cased tags proves nothing (hostile gateway)', () => {
  let gateway: Ec2Gateway;
  beforeAll(async () => {
    gateway = await startEc2Gateway(moto, { dropFilters: true });
  });
  afterAll(async () => {
    await gateway?.close();
  });

  /** Our instance, abandoned, and a foreign one whose tags, lower-cased, read exactly like ours. */
  async function oursAndTwin(session: string) {
    gateway.modes.lowerCaseTags = false;
    const c = controller(session, gateway.url, REGION_RECASED);
    const ours = await c.abandon();
    const twin = await runForeign(
      {
        'BENCHYARD:SESSION': session.toUpperCase(),
        'BENCHYARD:LEDGER-KEY': ours.key.toUpperCase(),
        [CLOUD_TAGS.expiresAt]: PAST,
      },
      REGION_RECASED,
    );
    return { c, ours, twin };
  }

  it(
    'gc --all refuses what it cannot prove is ours, and takes ours once the tags read true',
    { timeout: 120_000 },
    async () => {
      const session = `S-Mixed-Case-${Date.now()}`;
      const { c, ours, twin } = await oursAndTwin(session);
      try {
        gateway.modes.lowerCaseTags = true;
        const refused = await gc(c.state, '--all');
        // How gc reports a refusal (exit code, wording of the row) is gc's; the provider's part is its reason.
        expect(refused.stdout + refused.stderr).toContain(
          `not terminating ${ours.id}: its benchyard:session is '${session.toLowerCase()}', not '${session}'`,
        );
        expect(refused.stderr).not.toMatch(/internal error/);
        expect(await statesOf({ ours: ours.id, twin }, REGION_RECASED)).toEqual({
          ours: 'running',
          twin: 'running',
        });
        expect(c.ledger.open().map((e) => e.key)).toEqual([ours.key]);

        gateway.modes.lowerCaseTags = false;
        const out = await gc(c.state, '--all');
        expect(out.code, out.stderr + out.stdout).toBe(0);
        expect(await statesOf({ ours: ours.id, twin }, REGION_RECASED)).toEqual({
          ours: 'terminated',
          twin: 'running',
        });
      } finally {
        // Lower-cased, it would read as another controller's instance to the next gc --all.
        await direct(REGION_RECASED).send(new TerminateInstancesCommand({ InstanceIds: [twin] }));
      }
    },
  );

  it(
    'a look-alike of a recorded instance is left alone even when every tag then reads like ours',
    { timeout: 120_000 },
    async () => {
      const { c, ours, twin } = await oursAndTwin(`s-lower-${Date.now()}`);
      try {
        gateway.modes.lowerCaseTags = true;
        const out = await gc(c.state, '--all');
        expect(out.code, out.stderr + out.stdout).toBe(0);
        expect(out.stderr).toContain(`${twin} carries ledger key ${ours.key}, which belongs to ${ours.id}`);
        expect(await statesOf({ ours: ours.id, twin }, REGION_RECASED)).toEqual({
          ours: 'terminated',
          twin: 'running',
        });
      } finally {
        gateway.modes.lowerCaseTags = false;
        await direct(REGION_RECASED).send(new TerminateInstancesCommand({ InstanceIds: [twin] }));
      }
    },
  );
});

describe('an unreachable EC2 endpoint', () => {
  it(
    'makes gc exit 3 naming the provider and the endpoint, without a stack',
    { timeout: 60_000 },
    async () => {
      const c = controller(`s-unreachable-${Date.now()}`, 'http://127.0.0.1:1');
      const entry = c.ledger.intend(
        { provider: 'aws', kind: 'instance', region: REGION, details: { endpoint: 'http://127.0.0.1:1' } },
        new Date(Date.now() + 3_600_000),
      );
      c.ledger.update(entry.key, { details: { controllerPid: DEAD_PID } });
      const out = await gc(c.state);
      expect(out.code).toBe(3);
      const said = out.stdout + out.stderr;
      expect(said).toContain(
        `aws: EC2 endpoint http://127.0.0.1:1 (${REGION}) is unreachable: connect ECONNREFUSED`,
      );
      expect(said).not.toMatch(/internal error|\n\s+at /);
      expect(c.ledger.open().map((e) => e.key)).toEqual([entry.key]);
    },
  );
});

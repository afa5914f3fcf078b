/**
 * The providers' provisioning timelines against real services: EC2 in moto (instances
 * standing on the SSH test host h1), the SSH test host itself, the Slurm test cluster and
 * this machine. Each acquire must report exactly the steps it goes through, in order (never
 * exact times); the medians of a few acquires are printed as the figures measured here.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsProvider } from '../../providers/aws/index.js';
import { LocalProvider } from '../../providers/local/index.js';
import { SlurmProvider } from '../../providers/slurm/index.js';
import { SshHostsProvider, Ssh2Connector } from '../../providers/ssh/index.js';
import { sshHostsTarget } from '../../src/config/targets/ssh-hosts.js';
import {
  PROVISION_STEPS,
  silentLogger,
  systemClock,
  type Machine,
  type Provider,
  type ProviderContext,
  type ProvisionStep,
  type TargetSpec,
} from '../../src/core/index.js';
import { EngineLeases } from '../../src/lease/index.js';
import { SqliteLedger } from '../../src/ledger/index.js';
import { awsTestTarget, requireMoto, requireSshHosts, type DevSshHost } from '../helpers/remote-hosts.js';
import { requireSlurm, testTarget } from '../helpers/slurm.js';

/** Acquires per provider: enough for a median, few enough for CI. */
const ACQUIRES = 3;

let h1: DevSshHost;
let state: string;

beforeAll(async () => {
  h1 = (await requireSshHosts())[0]!;
  state = mkdtempSync(path.join(os.tmpdir(), 'benchyard-provision-'));
});
afterAll(() => rmSync(state, { recursive: true, force: true }));

function context(session: string, extra: Partial<ProviderContext> = {}): ProviderContext {
  return {
    ledger: new SqliteLedger(mkdtempSync(path.join(state, 'state-')), session),
    connector: new Ssh2Connector({ logger: silentLogger }),
    maxLifetimeMs: 3_600_000,
    clock: systemClock,
    logger: silentLogger,
    ...extra,
  };
}

/** The steps a machine reported, in PROVISION_STEPS order, and their times. */
function reported(m: Machine): [ProvisionStep, number][] {
  return PROVISION_STEPS.flatMap((s) =>
    m.provision?.[s] !== undefined ? [[s, m.provision[s]] as const] : [],
  );
}

/**
 * Acquires and releases `ACQUIRES` machines one after the other; each must report exactly
 * `steps`, never going back in time, within the acquire's own span. Answers the median ms
 * from the request to each step, and prints it.
 */
async function measure(name: string, provider: Provider, spec: TargetSpec, steps: readonly ProvisionStep[]) {
  const offsets: Partial<Record<ProvisionStep, number[]>> = {};
  for (let i = 0; i < ACQUIRES; i++) {
    const before = Date.now();
    const machine = await provider.acquire(spec, AbortSignal.timeout(120_000));
    const after = Date.now();
    try {
      const times = reported(machine);
      expect(times.map(([s]) => s)).toEqual(steps);
      const values = times.map(([, t]) => t);
      expect(values).toEqual([...values].sort((a, b) => a - b));
      expect(values[0]).toBeGreaterThanOrEqual(before);
      expect(values.at(-1)).toBeLessThanOrEqual(after);
      for (const [s, t] of times) (offsets[s] ??= []).push(t - values[0]!);
    } finally {
      await provider.release(machine, AbortSignal.timeout(60_000));
    }
  }
  const medians = Object.fromEntries(
    steps.map((s) => [s, [...offsets[s]!].sort((a, b) => a - b)[Math.floor(ACQUIRES / 2)]!]),
  );
  console.log(
    `provision ${name} (median of ${ACQUIRES}, ms since requested): ${steps
      .slice(1)
      .map((s) => `${s} ${medians[s]}`)
      .join(', ')}`,
  );
  return medians;
}

describe('provisioning timeline of each provider', () => {
  it(
    'EC2 (moto, instances on h1): requested, created, running, ssh, docker',
    { timeout: 180_000 },
    async () => {
      const moto = await requireMoto();
      process.env.AWS_ACCESS_KEY_ID ??= 'AKIAIOSFODNN7EXAMPLE';
      process.env.AWS_SECRET_ACCESS_KEY ??= 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
      const provider = new AwsProvider(context('s-prov-aws', { resolveAddress: () => h1.address }), {
        pollMs: 100,
      });
      await measure('aws (moto → h1)', provider, awsTestTarget(h1, moto), [
        'requested',
        'created',
        'running',
        'ssh',
        'docker',
      ]);
    },
  );

  it('an SSH host (h1): requested, ssh, docker; nothing is created', { timeout: 120_000 }, async () => {
    const session = 's-prov-ssh';
    const provider = new SshHostsProvider(
      context(session, {
        leases: new EngineLeases({ session, owner: `${session}@test`, logger: silentLogger }),
        leasePollMs: 200,
      }),
    );
    const spec: TargetSpec = {
      name: 'lab',
      provider: 'ssh',
      options: sshHostsTarget.parse({
        hosts: [{ host: h1.address, dockerSocket: h1.dockerSocket }],
        ssh: { user: h1.user, keyFile: h1.keyFile, knownHosts: h1.knownHostsFile, connectTimeout: '5s' },
      }),
    };
    await measure('ssh (h1)', provider, spec, ['requested', 'ssh', 'docker']);
  });

  it(
    'the Slurm test cluster: requested (sbatch), created (job id), running, ssh, docker',
    { timeout: 300_000 },
    async () => {
      const cluster = await requireSlurm();
      const provider = new SlurmProvider(context('s-prov-slurm'));
      await measure('slurm', provider, testTarget(cluster), [
        'requested',
        'created',
        'running',
        'ssh',
        'docker',
      ]);
    },
  );

  it('this machine: requested, docker', { timeout: 60_000 }, async () => {
    await measure('local', new LocalProvider(), { name: 'here', provider: 'local', options: {} }, [
      'requested',
      'docker',
    ]);
  });
});

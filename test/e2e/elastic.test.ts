/**
 * An elastic cloud target through the CLI: EC2 instances in moto (standing on the SSH host
 * h1) with `count: { min: 1, max: 3 }`. The run starts with one instance, adds instances
 * while cells wait, releases the ones left idle while a long cell still runs elsewhere,
 * shows them in `pool list` while they are held, and terminates every instance.
 */
import { DescribeInstancesCommand, EC2Client, type Instance } from '@aws-sdk/client-ec2';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { SqliteLedger } from '../../src/ledger/index.js';
import type { HeldMachineRow } from '../../src/cli/commands/pool.js';
import { cli, startCli, until } from '../helpers/cli.js';
import { requireMoto, requireSshHosts, type DevSshHost } from '../helpers/remote-hosts.js';

let h1: DevSshHost;
let moto: string;

beforeAll(async () => {
  [h1] = (await requireSshHosts()) as [DevSshHost];
  moto = await requireMoto();
});

interface RunJson {
  run: { status: string };
  results: { cellId: string; machineId: string; status: string; finishedAt: string }[];
}

describe('an elastic EC2 target (moto, instances on an SSH host)', () => {
  it(
    'starts with min, grows to max while cells wait, gives idle instances back before the run ends, terminates all',
    { timeout: 240_000 },
    async () => {
      const session = `s-e2e-elastic-${Date.now()}`;
      const dir = mkdtempSync(path.join(os.tmpdir(), 'by-elastic-'));
      const file = path.join(dir, 'elastic.yaml');
      const login = `{user: root, keyFile: ${h1.keyFile}, knownHosts: ${h1.knownHostsFile}, dockerSocket: ${h1.dockerSocket}, connectTimeout: 20s}`;
      // One long cell first (the first instance takes it), then four short ones: they wait,
      // so instances are added; once they are done those instances have nothing to run.
      writeFileSync(
        file,
        `name: elastic\nrepetitions: 1\ntargets:\n  - name: gpu\n    provider: aws\n    regions: [us-east-1]\n    instanceType: g4dn.xlarge\n    ami: ami-12c6146b\n    count: {min: 1, max: 3}\n    idleRelease: 2s\n    endpoint: ${moto}\n    ssh: ${login}\nbenchmarks:\n  - benchmark: sysbench-cpu\n    name: long\n    params: {time: 25, threads: 1}\n  - benchmark: sysbench-cpu\n    name: short\n    params: {time: 1, threads: [1, 2, 3, 4]}\n`,
      );
      const ec2 = new EC2Client({
        region: 'us-east-1',
        endpoint: moto,
        credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
      });
      const instances = async (): Promise<Instance[]> =>
        (
          await ec2.send(
            new DescribeInstancesCommand({ Filters: [{ Name: 'tag:benchyard:session', Values: [session] }] }),
          )
        ).Reservations?.flatMap((r) => r.Instances ?? []) ?? [];
      const run = startCli(['-v', 'run', file, '--json'], dir, {
        BENCHYARD_SESSION: session,
        BENCHYARD_TEST_ADDRESSES: h1.address,
        BENCHYARD_TEST_POLL_MS: '200',
        AWS_ACCESS_KEY_ID: 'testing',
        AWS_SECRET_ACCESS_KEY: 'testing',
        AWS_REGION: 'us-east-1',
      });
      try {
        // Grows to the maximum while the short cells wait.
        await until(
          async () => ((await instances()).length === 3 ? true : undefined),
          120_000,
          '3 instances',
        );
        // Held instances are visible in `pool list`, with the session that holds them.
        const listed = await cli(['pool', 'list', '--json'], { cwd: dir });
        expect(listed.code, listed.stderr).toBe(0);
        const held = (JSON.parse(listed.stdout) as { machines: HeldMachineRow[] }).machines;
        expect(
          held.filter((m) => m.provider === 'aws' && m.heldBy.session === session).length,
        ).toBeGreaterThan(0);
        // The instances that ran the short cells are given back while the long cell still runs.
        const terminatedEarly = await until(
          async () => {
            const all = await instances();
            const gone = all.filter((i) => ['shutting-down', 'terminated'].includes(i.State?.Name ?? ''));
            return gone.length === 2 ? gone : undefined;
          },
          120_000,
          'two idle instances terminated',
        );
        expect(terminatedEarly).toHaveLength(2);
        expect(run.child.exitCode).toBeNull(); // the long cell still runs

        expect(await run.exited).toBe(0);
        const out = JSON.parse(run.out().stdout) as RunJson;
        expect(out.run.status).toBe('passed');
        expect(out.results).toHaveLength(5);
        expect(new Set(out.results.map((r) => r.machineId)).size).toBeGreaterThanOrEqual(2);
        expect(run.out().stderr).toMatch(/had nothing to run: releasing it/);
      } catch (err) {
        throw new Error(`${String(err)}\nthe run said:\n${run.out().stderr.slice(-4000)}`, { cause: err });
      } finally {
        if (run.child.exitCode === null) {
          run.child.kill('SIGINT');
          await Promise.race([run.exited, new Promise((r) => setTimeout(r, 30_000))]);
        }
      }
      const left = (await instances()).filter((i) => i.State?.Name !== 'terminated');
      expect(left.map((i) => i.InstanceId)).toEqual([]);
      const ledger = new SqliteLedger(path.join(dir, '.benchyard'), 'check');
      try {
        expect(ledger.open()).toEqual([]);
      } finally {
        ledger.dispose();
      }
    },
  );
});

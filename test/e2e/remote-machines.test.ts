/**
 * Runs through the CLI on remote machines: a pool of two SSH hosts (real sshd + dockerd in
 * network namespaces), EC2 instances in moto backed by those hosts, a network cut in the
 * middle of a repetition, and a controller killed mid-run followed by `benchyard gc`.
 */
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { SqliteLedger } from '../../src/ledger/index.js';
import { cli, startCli, until } from '../helpers/cli.js';
import { startSoftlayerFake } from '../helpers/softlayer-fake.js';
import {
  cutNetwork,
  hostEngine,
  requireMoto,
  requireSshHosts,
  restoreNetwork,
  type DevSshHost,
} from '../helpers/remote-hosts.js';

let hosts: readonly DevSshHost[];
let moto: string;

beforeAll(async () => {
  hosts = await requireSshHosts();
  moto = await requireMoto();
});

/** Each host's engine, straight through its socket (the test runs on the same machine). */

async function containersOf(
  session: string,
  o: { benchmarks?: boolean } = {},
): Promise<{ host: DevSshHost; id: string }[]> {
  const all = await Promise.all(
    hosts.map(async (host) =>
      (
        await hostEngine(host).listContainers({
          all: true,
          filters: {
            label: [`io.benchyard.session=${session}`, ...(o.benchmarks ? ['io.benchyard.cell'] : [])],
          },
        })
      )
        // The machine's lease (not a container benchyard runs anything in) is not counted.
        .filter((c) => c.Labels['io.benchyard.lease'] === undefined)
        .map((c) => ({ host, id: c.Id })),
    ),
  );
  return all.flat();
}

function sshBlock(): string {
  const h = hosts[0]!;
  return `{user: ${h.user}, keyFile: ${h.keyFile}, knownHosts: ${h.knownHostsFile}, connectTimeout: 20s}`;
}

function poolMatrix(name: string, params: string, repetitions: number): string {
  const list = hosts.map((h) => `{host: ${h.address}, dockerSocket: ${h.dockerSocket}}`).join(', ');
  return `name: ${name}\nrepetitions: ${repetitions}\ntargets:\n  - name: lab\n    provider: ssh\n    hosts: [${list}]\n    ssh: ${sshBlock()}\nbenchmarks:\n  - benchmark: sysbench-cpu\n    params: ${params}\n`;
}

function workdir(file: string, text: string): { dir: string; file: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'by-remote-'));
  writeFileSync(path.join(dir, file), text);
  return { dir, file: path.join(dir, file) };
}

describe('remote machines through the CLI', () => {
  it(
    'spreads cells over a pool of SSH hosts, ships the image, samples through the agent, leaves nothing behind',
    { timeout: 300_000 },
    async () => {
      const { dir, file } = workdir('pool.yaml', poolMatrix('pool', '{time: 1, threads: [1, 2]}', 2));
      const session = `s-e2e-pool-${Date.now()}`;
      const run = await cli(['run', file, '--json'], { cwd: dir, env: { BENCHYARD_SESSION: session } });
      expect(run.code, run.stderr).toBe(0);
      const out = JSON.parse(run.stdout) as {
        run: { id: string };
        results: { machineId: string; status: string }[];
      };
      expect(out.results).toHaveLength(4);
      expect(out.results.every((r) => r.status === 'passed')).toBe(true);
      expect(new Set(out.results.map((r) => r.machineId))).toEqual(
        new Set(hosts.map((h) => `ssh:${h.user}@${h.address}:${h.port}`)),
      );
      const samples = JSON.parse((await cli(['results', '--samples', '--json'], { cwd: dir })).stdout) as {
        samples: { scope: string; host: string }[];
      };
      expect(new Set(samples.samples.filter((s) => s.scope === 'container').map((s) => s.host))).toEqual(
        new Set(hosts.map((h) => h.address)),
      );
      expect(await containersOf(session)).toEqual([]);
      expect(new SqliteLedger(path.join(dir, '.benchyard'), 'check').open()).toEqual([]);
    },
  );

  it(
    'retries a repetition whose host was cut off on the other pool member; metrics up to the cut are kept',
    { timeout: 300_000 },
    async () => {
      const { dir, file } = workdir('cut.yaml', poolMatrix('cut', '{time: 8}', 2));
      const session = `s-e2e-cut-${Date.now()}`;
      const proc = startCli(['run', file, '--json'], dir, { BENCHYARD_SESSION: session });
      let cut: DevSshHost | undefined;
      let cutContainer: string | undefined;
      try {
        const first = await until(async () => {
          const running = (await containersOf(session)).filter((c) => !c.id.startsWith('agent'));
          for (const c of running) {
            // Listed, then gone (a probe that ended): not the one to cut.
            const info = await hostEngine(c.host)
              .getContainer(c.id)
              .inspect()
              .catch(() => undefined);
            if (!info) continue;
            if (info.Config.Labels['io.benchyard.cell'] && info.State.Running) return c;
          }
          return undefined;
        }, 120_000);
        await new Promise((r) => setTimeout(r, 3_000)); // a few seconds of metrics before the cut
        cut = first.host;
        cutContainer = first.id;
        await cutNetwork(cut);
        const code = await proc.exited;
        const { stdout, stderr } = proc.out();
        expect(code, stderr).toBe(0);
        expect(stderr).toMatch(/retrying on another machine/);
        const out = JSON.parse(stdout) as {
          results: { machineId: string; status: string; repetition: number }[];
        };
        // Interleaved (the default), both repetitions start at once, one on each host.
        expect(
          out.results.map((r) => [r.repetition, r.status]).sort((x, y) => Number(x[0]) - Number(y[0])),
        ).toEqual([
          [1, 'passed'],
          [2, 'passed'],
        ]);
        const other = hosts.find((h) => h !== cut)!;
        expect(new Set(out.results.map((r) => r.machineId))).toEqual(
          new Set([`ssh:root@${other.address}:22`]),
        );
      } finally {
        if (cut) await restoreNetwork(cut);
        if (proc.child.exitCode === null) proc.child.kill('SIGKILL');
      }
      const samples = JSON.parse((await cli(['results', '--samples', '--json'], { cwd: dir })).stdout) as {
        samples: { containerId?: string }[];
      };
      expect(samples.samples.filter((s) => s.containerId === cutContainer).length).toBeGreaterThan(0);
      // The cut host still runs the abandoned container: gc takes it down and returns the lease.
      const gc = await cli(['gc'], { cwd: dir });
      expect(gc.code, gc.stderr + gc.stdout).toBe(0);
      expect(await containersOf(session)).toEqual([]);
      expect(new SqliteLedger(path.join(dir, '.benchyard'), 'check').open()).toEqual([]);
    },
  );

  it(
    'after the controller is killed mid-run (EC2 in moto, a SoftLayer guest in the fake, an SSH host), gc leaves 0 instances, 0 guests, 0 ledger entries, 0 containers',
    { timeout: 300_000 },
    async () => {
      const session = `s-e2e-kill-${Date.now()}`;
      const [h1, h2] = hosts as [DevSshHost, DevSshHost];
      const slKey = randomBytes(32).toString('hex');
      const awsSecret = `wJalrXUtnFEMI/K7MDENG/${randomBytes(9).toString('base64')}`;
      const sl = await startSoftlayerFake({ apiKey: slKey });
      // Instances in moto and the SoftLayer guest stand on h1 (BENCHYARD_TEST_ADDRESSES); the ssh target leases h2.
      const matrix = `name: kill\nrepetitions: 3\ntargets:\n  - name: k80\n    provider: softlayer\n    datacenters: [dal10]\n    flavor: AC1_8X60X25\n    sshKeyIds: [1]\n    endpoint: ${sl.url}\n    pollInterval: 100ms\n    ssh: {user: root, keyFile: ${h1.keyFile}, knownHosts: ${h1.knownHostsFile}, dockerSocket: ${h1.dockerSocket}, connectTimeout: 20s}\n  - name: gpu\n    provider: aws\n    regions: [us-east-1]\n    instanceType: g4dn.xlarge\n    ami: ami-12c6146b\n    count: 2\n    endpoint: ${moto}\n    ssh: {user: root, keyFile: ${h1.keyFile}, knownHosts: ${h1.knownHostsFile}, dockerSocket: ${h1.dockerSocket}, connectTimeout: 20s}\n  - name: lab\n    provider: ssh\n    hosts: [{host: ${h2.address}, dockerSocket: ${h2.dockerSocket}}]\n    ssh: ${sshBlock()}\nbenchmarks:\n  - benchmark: sysbench-cpu\n    params: {time: 5, threads: [1, 2]}\n`;
      const { dir, file } = workdir('aws.yaml', matrix);
      const env = {
        BENCHYARD_SESSION: session,
        BENCHYARD_TEST_ADDRESSES: h1.address,
        BENCHYARD_TEST_POLL_MS: '200',
        AWS_ACCESS_KEY_ID: 'testing',
        AWS_SECRET_ACCESS_KEY: awsSecret,
        AWS_REGION: 'us-east-1',
        SL_USERNAME: 'SL123456',
        SL_API_KEY: slKey,
      };
      const proc = startCli(['run', file], dir, env);
      // Benchmark containers (not the short-lived fingerprint probes) on both hosts: those are
      // what the kill leaves behind. Waiting for any container flaked under load: the probes
      // were gone by the time of the kill.
      const onBoth = async () => {
        const hostsWithWork = new Set(
          (await containersOf(session, { benchmarks: true })).map((c) => c.host.name),
        );
        return hostsWithWork.size === 2 ? true : undefined;
      };
      await until(onBoth, 120_000).catch((err: unknown) => {
        throw new Error(`${String(err)}; the run said: ${proc.out().stderr}`);
      });
      await new Promise((r) => setTimeout(r, 1_000));
      proc.child.kill('SIGKILL');
      await proc.exited;
      const ec2 = new EC2Client({
        region: 'us-east-1',
        endpoint: moto,
        credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
      });
      const live = async () =>
        (
          await ec2.send(
            new DescribeInstancesCommand({
              Filters: [
                { Name: 'tag:benchyard:session', Values: [session] },
                {
                  Name: 'instance-state-name',
                  Values: ['pending', 'running', 'stopping', 'stopped', 'shutting-down'],
                },
              ],
            }),
          )
        ).Reservations?.flatMap((r) => r.Instances ?? []) ?? [];
      expect((await live()).length).toBe(2); // the kill left them running: the case gc is for
      const guests = () => sl.state.machines.filter((m) => m.phase !== 'gone');
      expect(guests().length).toBe(1);
      expect((await containersOf(session)).length).toBeGreaterThan(0);

      const dry = await cli(['gc', '--dry-run'], { cwd: dir, env });
      expect(dry.code, dry.stderr).toBe(0);
      expect(dry.stdout).toMatch(/would destroy/);
      expect((await live()).length).toBe(2);
      expect(guests().length).toBe(1);

      const gc = await cli(['gc'], { cwd: dir, env });
      expect(gc.code, gc.stderr + gc.stdout).toBe(0);
      expect(await live()).toEqual([]);
      expect(guests()).toEqual([]);
      await sl.close();
      expect(new SqliteLedger(path.join(dir, '.benchyard'), 'check').open()).toEqual([]);
      // h2's lease was cleaned by gc. What ran on h1 stood for the instances' disks, which
      // termination destroys; moto cannot reach h1, so the test does that part.
      expect((await containersOf(session)).filter((c) => c.host === h2)).toEqual([]);
      for (const c of await containersOf(session))
        await hostEngine(c.host).getContainer(c.id).remove({ force: true });

      // Credentials and the private key appear nowhere: output, errors, the store and ledger.
      const keyBody = readFileSync(h1.keyFile, 'utf8').split('\n')[1]!;
      const said = [proc.out().stdout, proc.out().stderr, dry.stdout, dry.stderr, gc.stdout, gc.stderr].join(
        '\n',
      );
      const stored = readdirSync(path.join(dir, '.benchyard'))
        .filter((f) => f.startsWith('benchyard.db'))
        .map((f) => readFileSync(path.join(dir, '.benchyard', f)).toString('latin1'))
        .join('\n');
      for (const secret of [slKey, awsSecret, keyBody]) {
        expect(said).not.toContain(secret);
        expect(stored).not.toContain(secret);
      }
      expect(stored).toContain(session); // the scan reads the real files
    },
  );
});

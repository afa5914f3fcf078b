/**
 * Machines are never shared by accident, through the CLI as users run it: two controllers
 * with different state folders (a laptop and a Jenkins agent) on the same SSH host and on
 * this machine take turns, the second says whom it waits for, a SIGKILLed controller's
 * lease is taken over once it expired; two targets that reach one Docker engine are refused
 * unless the matrix says `shareEngine: true`; `gc` cleans up a `kill -9`ed local run.
 */
import Docker from 'dockerode';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, startCli, until } from '../helpers/cli.js';
import { hostEngine, requireSshHosts, type DevSshHost } from '../helpers/remote-hosts.js';

let h1: DevSshHost;
beforeAll(async () => {
  [h1] = (await requireSshHosts()) as [DevSshHost];
});

interface Rep {
  machineId: string;
  startedAt: string;
  finishedAt: string;
  status: string;
  failureReason?: string;
}

function workdir(text: string): { dir: string; file: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'by-lease-'));
  const file = path.join(dir, 'm.yaml');
  writeFileSync(file, text);
  return { dir, file };
}

const ssh = () =>
  `{user: root, keyFile: ${h1.keyFile}, knownHosts: ${h1.knownHostsFile}, connectTimeout: 20s}`;
const labTarget = (socket = h1.dockerSocket) =>
  `  - name: lab\n    provider: ssh\n    hosts: [{host: ${h1.address}, dockerSocket: ${socket}}]\n    ssh: ${ssh()}\n`;

async function results(dir: string, state: string): Promise<Rep[]> {
  const r = await cli(['results', '--json', '--state', state], { cwd: dir });
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { results: Rep[] }).results;
}

/** Whether two repetitions' [start, finish] intervals overlap. */
const overlap = (a: Rep, b: Rep) =>
  Date.parse(a.startedAt) < Date.parse(b.finishedAt) && Date.parse(b.startedAt) < Date.parse(a.finishedAt);

describe('machine leases through the CLI', () => {
  it(
    'two controllers with their own state folders take turns on an SSH host and on this machine, the second naming the holder',
    { timeout: 300_000 },
    async () => {
      const { dir, file } = workdir(
        `name: turns\nrepetitions: 2\ntargets:\n  - name: here\n    provider: local\n${labTarget()}benchmarks:\n  - benchmark: sysbench-cpu\n    params: {time: 2}\n`,
      );
      const a = startCli(['run', file, '--state', path.join(dir, 'a')], dir, {
        BENCHYARD_SESSION: 's-turns-a',
      });
      const b = startCli(['run', file, '--state', path.join(dir, 'b')], dir, {
        BENCHYARD_SESSION: 's-turns-b',
      });
      const [codeA, codeB] = await Promise.all([a.exited, b.exited]);
      expect(codeA, a.out().stderr).toBe(0);
      expect(codeB, b.out().stderr).toBe(0);
      // Whoever came second said whom it waited for, naming the machine and the other's session.
      const said = `${a.out().stderr}\n${b.out().stderr}`;
      expect(said).toMatch(
        /waiting for (local:\S+|ssh:root@10\.250\.1\.2:22), held by session s-turns-[ab] of owner \S+ \(pid \d+ on .+\) since \d{4}-/,
      );
      const ra = await results(dir, path.join(dir, 'a'));
      const rb = await results(dir, path.join(dir, 'b'));
      expect(ra).toHaveLength(4);
      expect(rb).toHaveLength(4);
      for (const x of ra)
        for (const y of rb.filter((r) => r.machineId === x.machineId))
          expect(
            overlap(x, y),
            `${x.machineId}: ${x.startedAt}..${x.finishedAt} vs ${y.startedAt}..${y.finishedAt}`,
          ).toBe(false);
      expect(new Set(ra.map((r) => r.machineId)).size).toBe(2);
    },
  );

  it(
    'takes over the lease of a SIGKILLed controller once it expired (BENCHYARD_LEASE_TTL) and removes what it left running',
    { timeout: 300_000 },
    async () => {
      // Long enough that the next controller, started on a busy machine, still finds the lease
      // valid and waits before it takes it over.
      const env = { BENCHYARD_LEASE_TTL: '10s' };
      const long = workdir(
        `name: killed\nrepetitions: 1\ntargets:\n${labTarget()}benchmarks:\n  - benchmark: sysbench-cpu\n    params: {time: 120}\n`,
      );
      const killed = startCli(['run', long.file], long.dir, { ...env, BENCHYARD_SESSION: 's-killed' });
      const engine = hostEngine(h1);
      const running = () =>
        engine.listContainers({ filters: { label: ['io.benchyard.session=s-killed', 'io.benchyard.cell'] } });
      await until(
        async () => ((await running()).length > 0 ? true : undefined),
        120_000,
        'the benchmark to run',
      );
      killed.child.kill('SIGKILL');
      await killed.exited;
      const killedAt = Date.now();
      const short = workdir(
        `name: after\nrepetitions: 1\ntargets:\n${labTarget()}benchmarks:\n  - benchmark: sysbench-cpu\n    params: {time: 1}\n`,
      );
      const next = await cli(['run', short.file, '--json'], {
        cwd: short.dir,
        env: { ...env, BENCHYARD_SESSION: 's-next' },
      });
      expect(next.code, next.stderr).toBe(0);
      expect(next.stderr).toMatch(/waiting for ssh:root@10\.250\.1\.2:22, held by session s-killed/);
      expect(next.stderr).toMatch(
        /taking over ssh:root@10\.250\.1\.2:22 from session s-killed .* expired at/,
      );
      const rep = (JSON.parse(next.stdout) as { results: Rep[] }).results[0]!;
      // Not before the dead controller's lease expired; its benchmark was removed by then.
      expect(Date.parse(rep.startedAt) - killedAt).toBeGreaterThan(1_000);
      expect(await running()).toEqual([]);
    },
  );

  it(
    '--no-wait fails at once with exit 3 naming the holder; pool list reads the holder from the machine',
    { timeout: 120_000 },
    async () => {
      const { dir, file } = workdir(
        `name: busy\nrepetitions: 1\ntargets:\n${labTarget()}benchmarks:\n  - benchmark: sysbench-cpu\n    params: {time: 20}\n`,
      );
      const holder = startCli(['run', file, '--state', path.join(dir, 'a')], dir, {
        BENCHYARD_SESSION: 's-holder',
      });
      try {
        const engine = hostEngine(h1);
        await until(
          async () =>
            (
              await engine.listContainers({
                filters: { label: ['io.benchyard.session=s-holder', 'io.benchyard.cell'] },
              })
            ).length > 0
              ? true
              : undefined,
          120_000,
          'the holder to run',
        );
        const t0 = Date.now();
        const refused = await cli(['run', file, '--no-wait', '--state', path.join(dir, 'b')], { cwd: dir });
        expect(refused.code, refused.stderr).toBe(3);
        expect(refused.stderr).toMatch(/ssh:root@10\.250\.1\.2:22 is held by session s-holder of owner/);
        expect(Date.now() - t0).toBeLessThan(30_000);
        // `pool list` in yet another state folder reads the holder from the machine itself.
        const other = path.join(dir, 'c');
        const added = await cli([
          'pool',
          'add',
          'lab',
          h1.address,
          '--docker-socket',
          h1.dockerSocket,
          '--state',
          other,
        ]);
        expect(added.code, added.stderr).toBe(0);
        const listed = await cli([
          'pool',
          'list',
          '--json',
          '--state',
          other,
          '--ssh-key',
          h1.keyFile,
          '--known-hosts',
          h1.knownHostsFile,
        ]);
        expect(listed.code, listed.stderr).toBe(0);
        const [member] = (JSON.parse(listed.stdout) as { members: { heldBy?: Record<string, unknown> }[] })
          .members;
        expect(member?.heldBy).toMatchObject({ session: 's-holder', source: 'machine', expired: false });
        expect(String(member?.heldBy?.controller)).toMatch(/^pid \d+ on /);
      } finally {
        holder.child.kill('SIGINT');
        await holder.exited;
      }
    },
  );

  it(
    "two targets reaching one Docker engine are refused with exit 2; with shareEngine: true they run as one machine and no repetition is killed by the other target's cleanup",
    { timeout: 300_000 },
    async () => {
      // An ssh host entry without its own socket lands on this machine's engine (the test
      // hosts share this machine's filesystem): two names for one box.
      const targets = `targets:\n  - name: here\n    provider: local\n${labTarget('/var/run/docker.sock')}`;
      const benchmarks = `benchmarks:\n  - benchmark: sysbench-cpu\n    params: {time: 1}\n    targets: [lab]\n  - benchmark: sysbench-cpu\n    name: longer\n    params: {time: 6}\n    targets: [here]\n`;
      const refused = workdir(`name: one-engine\nrepetitions: 1\n${targets}${benchmarks}`);
      const r = await cli(['run', refused.file], { cwd: refused.dir });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(
        /'(local:\S+|ssh:root@10\.250\.1\.2:22)' \(target '(here|lab)'\) and '(local:\S+|ssh:root@10\.250\.1\.2:22)' \(target '(here|lab)'\) reach the same Docker engine/,
      );
      expect(r.stderr).toMatch(/shareEngine: true/);

      const shared = workdir(
        `name: one-engine\nrepetitions: 2\nconcurrency: 2\nshareEngine: true\n${targets}${benchmarks}`,
      );
      const ok = await cli(['run', shared.file, '--json'], { cwd: shared.dir });
      expect(ok.code, ok.stderr).toBe(0);
      const reps = (JSON.parse(ok.stdout) as { results: Rep[] }).results;
      expect(reps).toHaveLength(4);
      expect(reps.every((x) => x.status === 'passed')).toBe(true);
      expect(ok.stderr).not.toMatch(/409|already in progress/);
    },
  );

  it(
    'gc removes the containers of a kill -9ed local run and marks the run cancelled',
    { timeout: 300_000 },
    async () => {
      const { dir, file } = workdir(
        `name: orphan\nrepetitions: 1\ntargets:\n  - name: here\n    provider: local\nbenchmarks:\n  - benchmark: sysbench-cpu\n    params: {time: 120}\n`,
      );
      const proc = startCli(['run', file], dir, { BENCHYARD_SESSION: 's-orphan' });
      const local = new Docker();
      const mine = () =>
        local.listContainers({
          all: true,
          filters: { label: ['io.benchyard.session=s-orphan', 'io.benchyard.managed=true'] },
        });
      await until(
        async () => ((await mine()).some((c) => c.Labels['io.benchyard.cell']) ? true : undefined),
        120_000,
      );
      proc.child.kill('SIGKILL');
      await proc.exited;
      expect((await mine()).length).toBeGreaterThan(0);
      const runs = async () =>
        (JSON.parse((await cli(['results', '--json'], { cwd: dir })).stdout) as { run: { status: string } })
          .run;
      expect((await runs()).status).toBe('running');

      const dry = await cli(['gc', '--dry-run'], { cwd: dir });
      expect(dry.code, dry.stderr).toBe(0);
      expect(dry.stdout, dry.stdout).toMatch(/would remove \d+/);
      expect(dry.stdout).toMatch(/would mark cancelled/);
      // Plain text into a pipe: no colour codes.
      expect(dry.stdout.includes('\u001b[')).toBe(false);

      const gc = await cli(['gc'], { cwd: dir });
      expect(gc.code, gc.stderr + gc.stdout).toBe(0);
      expect(gc.stdout).toMatch(/removed \d+/);
      expect(gc.stdout).toMatch(/marked cancelled/);
      expect(await mine()).toEqual([]);
      expect((await runs()).status).toBe('cancelled');
      const again = await cli(['gc'], { cwd: dir });
      expect(again.stdout).not.toMatch(/s-orphan/);
    },
  );
});

/**
 * Slurm through the CLI, as a user runs it, against the real cluster of `scripts/services
 * up slurm`: one matrix over `local`, `ssh` and `slurm` targets where the Slurm node's
 * container gets exactly the fake GPU and CPUs its job was given and `compare --by node`
 * tells the nodes apart; a job cancelled from outside mid-repetition (the repetition runs
 * again on a new allocation); and `gc` after the controller was killed (its jobs cancelled,
 * its containers removed, another user's job left alone).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/store/index.js';
import { cli, startCli, until } from '../helpers/cli.js';
import { hostEngine, requireSshHosts, type DevSshHost } from '../helpers/remote-hosts.js';
import {
  allJobs,
  jobState,
  liveJobs,
  requireSlurm,
  slurm,
  submitForeign,
  type DevSlurm,
} from '../helpers/slurm.js';

let cluster: DevSlurm;
let hosts: readonly DevSshHost[];
const work = mkdtempSync(path.join(os.tmpdir(), 'by-e2e-slurm-'));

beforeAll(async () => {
  cluster = await requireSlurm();
  hosts = await requireSshHosts();
});

/** The target for the test cluster; `gres: null` asks for as many GPUs as the cells need. */
function slurmTarget(extra = '', gres: string | null = 'gpu:fake:1'): string {
  return `  - name: hpc
    provider: slurm
    login: { host: ${cluster.login} }
    partition: ${cluster.partition}
${gres ? `    gres: ${gres}\n` : ''}    gpuDevices: gres
    timeLimit: 15m
    pollInterval: 250ms
    ssh: { user: ${cluster.user}, keyFile: ${cluster.keyFile}, knownHosts: ${cluster.knownHosts}, dockerSocket: '/run/benchyard-hosts/{node}/docker.sock', connectTimeout: 20s }
${extra}`;
}

/** A matrix entry whose shell `script` prints `seconds: N`, scored as seconds (lower is better). */
const secondsBenchmark = (name: string, script: string) => `  - name: ${name}
    benchmark:
      name: ${name}
      image: benchyard/bench-tools:1
      command: [sh, -c, '${script}']
      network: none
      scores: [{ name: seconds, unit: s, direction: lower, from: stdout, regex: 'seconds: ([0-9.]+)' }]`;

/** Prints the fake GPU device it sees, how many, and the CPUs it may run on, as scores. */
const whereBenchmark = (name: string) => `
    benchmark:
      name: ${name}
      image: benchyard/bench-tools:1
      command: [sh, -c, 'd=$(ls /dev/fakegpu* 2>/dev/null); echo "gpus: $(echo $d | wc -w)"; echo "gpu: \${d#/dev/fakegpu}"; c=$(cat /sys/fs/cgroup/cpuset/cpuset.cpus); echo "cpu_first: \${c%%[-,]*}"; echo "cpu_last: \${c##*[-,]}"']
      network: none
      scores:
        - { name: gpus, unit: count, direction: higher, from: stdout, regex: 'gpus: ([0-9]+)' }
        - { name: gpu, unit: index, direction: higher, from: stdout, regex: 'gpu: ([0-9]+)' }
        - { name: cpu_first, unit: index, direction: higher, from: stdout, regex: 'cpu_first: ([0-9]+)' }
        - { name: cpu_last, unit: index, direction: higher, from: stdout, regex: 'cpu_last: ([0-9]+)' }`;

interface RunJson {
  run: { id: string; status: string };
  results: {
    target: string;
    benchmark: string;
    machineId: string;
    status: string;
    scores: { name: string; value: number }[];
  }[];
  skipped: { entry: string; target: string; reason: string }[];
}

describe('slurm targets through the CLI', () => {
  it(
    'local, ssh and slurm targets in one matrix: the Slurm container gets exactly its GPU and CPUs; what no node has is skipped; compare --by node',
    { timeout: 300_000 },
    async () => {
      const dir = mkdtempSync(path.join(work, 'mixed-'));
      const file = path.join(dir, 'matrix.yaml');
      const h2 = hosts[1]!;
      writeFileSync(
        file,
        `name: slurm-mixed
repetitions: 4
order: blocked
targets:
  - name: here
    provider: local
  - name: lab
    provider: ssh
    hosts: [{ host: ${h2.address}, dockerSocket: ${h2.dockerSocket} }]
    ssh: { user: ${h2.user}, keyFile: ${h2.keyFile}, knownHosts: ${h2.knownHostsFile}, connectTimeout: 20s }
${slurmTarget('    nodes: 2', null)}
benchmarks:
${secondsBenchmark('cpu', 'echo "seconds: 0.5"')}
  - name: where
    targets: [hpc]
    requires: { gpu: 1 }${whereBenchmark('where')}
  - name: four-gpus
    targets: [hpc]
    requires: { gpu: 4 }${whereBenchmark('where4')}
`,
      );
      const state = path.join(dir, 'state');
      const res = await cli(['run', file, '--json', '--state', state], { cwd: dir });
      expect(res.code, res.stderr).toBe(0);
      const out = JSON.parse(res.stdout) as RunJson;
      expect(out.run.status).toBe('passed');
      expect(out.skipped).toEqual([
        expect.objectContaining({ entry: 'four-gpus', target: 'hpc', reason: 'needs 4 GPUs; has 2× fake' }),
      ]);
      expect(new Set(out.results.map((r) => r.target))).toEqual(new Set(['here', 'lab', 'hpc']));

      const store = new SqliteStore(state);
      const machines = new Map(
        (await store.listMachines({ runId: out.run.id })).map((m) => [m.machineId, m]),
      );
      await store.close();
      const where = out.results.filter((r) => r.benchmark === 'where');
      expect(where).toHaveLength(4);
      for (const r of where) {
        const p = machines.get(r.machineId)!.placement!;
        const score = (n: string) => r.scores.find((s) => s.name === n)!.value;
        // gres.conf: h1 has /dev/fakegpu0-1, h2 /dev/fakegpu2-3; Slurm's index is the order on the node.
        const idx = Number(/IDX:(\d+)/.exec(p.gres!)![1]);
        expect(score('gpus')).toBe(1);
        expect(score('gpu')).toBe((p.node === 'h2' ? 2 : 0) + idx);
        const cpus = p.cpus!.split(/[-,]/).map(Number);
        expect([score('cpu_first'), score('cpu_last')]).toEqual([cpus[0], cpus.at(-1)]);
      }
      const nodes = new Set(
        out.results.filter((r) => r.target === 'hpc').map((r) => machines.get(r.machineId)?.placement?.node),
      );
      expect(nodes).toEqual(new Set(['h1', 'h2']));

      const cmp = await cli(['compare', '--run', out.run.id, '--by', 'node', '--state', state], { cwd: dir });
      expect(cmp.code, cmp.stderr).toBeLessThan(2);
      expect(cmp.stdout).toMatch(/\bh1\b/);
      expect(cmp.stdout).toMatch(/\bh2\b/);
      expect(await liveJobs((j) => j.name.startsWith('benchyard-'))).toEqual([]);
    },
  );

  it(
    'doctor checks a slurm target without submitting anything, and says what Slurm refuses',
    { timeout: 120_000 },
    async () => {
      const dir = mkdtempSync(path.join(work, 'doctor-'));
      const before = (await allJobs()).length;
      const check = async (extra: string) => {
        const file = path.join(dir, 'matrix.yaml');
        writeFileSync(
          file,
          `name: slurm-doctor\ntargets:\n${slurmTarget(extra)}benchmarks:\n  - name: where\n    requires: { gpu: 1 }${whereBenchmark('where')}\n`,
        );
        const res = await cli(['doctor', file, '--json'], { cwd: dir });
        const [report] = JSON.parse(res.stdout) as {
          checks: { check: string; status: string; detail: string }[];
        }[];
        return { code: res.code, checks: new Map(report!.checks.map((c) => [c.check, c])) };
      };
      const ok = await check('');
      expect(ok.code).toBe(0);
      expect(ok.checks.get('slurm login')?.status).toBe('ok');
      expect(ok.checks.get(`partition ${cluster.partition}`)?.detail).toMatch(/h1 .*gpu:fake:2.*; h2 /);
      expect(ok.checks.get('slurm request')?.detail).toMatch(/to start at .* on nodes h[12]/);
      expect(ok.checks.get('docker on h1')?.status).toBe('ok');
      expect(ok.checks.get('requires of where')?.status).toBe('ok');

      const bad = await check('    exclude: h1,h2\n');
      expect(bad.code).toBe(3);
      expect(bad.checks.get(`partition ${cluster.partition}`)?.status).toBe('fail');
      expect(bad.checks.get('slurm request')).toMatchObject({
        status: 'fail',
        detail: expect.stringMatching(/Requested node configuration is not available/),
      });
      // --test-only queues nothing.
      expect((await allJobs()).length).toBe(before);
    },
  );

  it(
    'a holder job cancelled from outside mid-repetition: the machine is lost and the repetition runs again on a new allocation',
    { timeout: 300_000 },
    async () => {
      const dir = mkdtempSync(path.join(work, 'lost-'));
      const file = path.join(dir, 'matrix.yaml');
      const marker = randomBytes(4).toString('hex');
      writeFileSync(
        file,
        `name: slurm-lost
repetitions: 1
targets:
${slurmTarget('    nodes: { min: 1, max: 2 }')}
benchmarks:
${secondsBenchmark('slow', `echo started-${marker}; sleep 8; echo "seconds: 8"`)}
`,
      );
      const session = `s-e2e-lost-${marker}`;
      const run = startCli(['run', file, '--json', '--state', path.join(dir, 'state')], dir, {
        BENCHYARD_SESSION: session,
      });
      const first = await until(
        async () => (await liveJobs((j) => j.name === `benchyard-${session}` && j.state === 'RUNNING'))[0],
        120_000,
        'the holder job to run',
      );
      await until(
        async () => ((await benchmarkContainers(session)).length ? true : undefined),
        120_000,
        'the repetition to start',
      );
      await slurm(['scancel', first.id]);
      const code = await run.exited;
      const { stdout, stderr } = run.out();
      expect(code, stderr).toBe(0);
      const out = JSON.parse(stdout) as RunJson;
      expect(out.results).toHaveLength(1);
      expect(out.results[0]).toMatchObject({ status: 'passed' });
      expect(out.results[0]!.machineId).not.toBe(`slurm:${cluster.cluster}:${first.id}`);
      expect(stderr, stderr).toMatch(new RegExp(`Slurm job ${first.id} (ended: CANCELLED|is gone)`));
      expect(await jobState(first.id)).toBe('CANCELLED');
      expect(await benchmarkContainers(session)).toEqual([]);
    },
  );

  it(
    "gc after the controller was killed: cancels its jobs, removes its containers, leaves another user's job alone",
    { timeout: 300_000 },
    async () => {
      const dir = mkdtempSync(path.join(work, 'gc-'));
      const file = path.join(dir, 'matrix.yaml');
      const state = path.join(dir, 'state');
      writeFileSync(
        file,
        `name: slurm-gc
repetitions: 1
targets:
${slurmTarget()}
benchmarks:
  - name: long
    benchmark: { name: long, image: benchyard/bench-tools:1, command: [sleep, '600'], network: none }
`,
      );
      const foreign = await submitForeign(cluster);
      try {
        const session = `s-e2e-gc-${randomBytes(4).toString('hex')}`;
        const run = startCli(['run', file, '--state', state], dir, { BENCHYARD_SESSION: session });
        await until(
          async () => ((await benchmarkContainers(session)).length ? true : undefined),
          120_000,
          'the repetition to start',
        );
        const [job] = await liveJobs((j) => j.name === `benchyard-${session}`);
        run.child.kill('SIGKILL');
        await run.exited;
        expect(await jobState(job!.id)).toBe('RUNNING');

        const gc = await cli(['gc', '--state', state], { cwd: dir });
        expect(gc.code, gc.stderr + gc.stdout).toBe(0);
        expect(await jobState(job!.id)).toBe('CANCELLED');
        expect(await benchmarkContainers(session)).toEqual([]);
        expect(await jobState(foreign)).toMatch(/RUNNING|PENDING/);
      } finally {
        await slurm(['scancel', foreign]);
      }
    },
  );
});

/** Benchmark containers of a session on either node's engine. */
async function benchmarkContainers(session: string): Promise<string[]> {
  const all = await Promise.all(
    hosts.map(async (h) =>
      (
        await hostEngine(h).listContainers({
          all: true,
          filters: { label: [`io.benchyard.session=${session}`, 'io.benchyard.cell'] },
        })
      ).map((c) => c.Id),
    ),
  );
  return all.flat();
}

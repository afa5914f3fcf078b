/**
 * Time per repetition through benchyard vs a bare `docker run --rm` of the same image and
 * command on the same engine, on a test host (default h1, over SSH as a run reaches it) or
 * on this machine. `npm run perf:overhead [-- N] [-- --target=h1|h2|local]` (default 10, h1).
 * Prints medians and the ratio the issue sets a target for; asserts nothing.
 *
 * Three ways of running `sysbench cpu --time=1` (and `true`, for pure overhead):
 *  - docker CLI: `docker run --rm --network none IMAGE ARGV` against the target's engine
 *    socket, run on the machine the engine is on (a test host's socket is on this machine:
 *    what typing it on the host costs, no SSH);
 *  - engine:     runContainer on the machine benchyard acquired (create, attach, start,
 *    wait, remove; no sampling), over its SSH connection for a test host;
 *  - scheduler:  full repetitions of a one-cell matrix: container + metrics as a run takes
 *    them (the agent on a remote machine) + parsing + SQLite, start to next start. Run
 *    before and after the others; the median of both runs' gaps.
 * The CLI and engine runs alternate, so a busy moment of a shared machine hits both.
 */
import type Docker from 'dockerode';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { silentLogger, type TargetSpec } from '../../src/core/index.js';
import { MapCatalog, validateMatrix, YamlSource, loadCatalog } from '../../src/config/index.js';
import { machineMonitor } from '../../src/cli/monitors.js';
import { providerSet } from '../../src/cli/providers.js';
import { dockerOfMachine, dockerRunner } from '../helpers/docker-runner.js';
import { docker as localDocker } from '../helpers/services.js';
import { planMatrix } from '../../src/plan/index.js';
import { newRunId, Scheduler } from '../../src/schedule/index.js';
import { ArtifactDir, SqliteStore } from '../../src/store/index.js';
import { DEV_SSH_HOSTS, requireSshHosts } from '../helpers/remote-hosts.js';
import { CpuMeter, dockerEngine, printAccounted, proc } from './processes.js';

const args = process.argv.slice(2);
const N = Number(args.find((a) => /^\d+$/.test(a)) ?? 10);
const TARGET = args.find((a) => a.startsWith('--target='))?.slice('--target='.length) ?? 'h1';
const IMAGE = 'benchyard/bench-tools:1';
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function time(fn: () => Promise<unknown> | unknown): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/** The target as a matrix names it, and the engine socket `docker run` is given. */
async function target(): Promise<{ yaml: string; socket: string; where: string }> {
  if (TARGET === 'local')
    return { yaml: '{name: h, provider: local}', socket: '/var/run/docker.sock', where: 'this machine' };
  const h = (await requireSshHosts()).find((x) => x.name === TARGET);
  if (!h)
    throw new Error(`--target=${TARGET}: not one of local, ${DEV_SSH_HOSTS.map((x) => x.name).join(', ')}`);
  return {
    yaml: `{name: h, provider: ssh, hosts: [{host: ${h.address}, dockerSocket: ${h.dockerSocket}}], ssh: {user: ${h.user}, keyFile: ${h.keyFile}, knownHosts: ${h.knownHostsFile}}}`,
    socket: h.dockerSocket,
    where: `test host ${h.name} (${h.address}, over SSH)`,
  };
}

async function main() {
  const t = await target();
  const local: Docker = localDocker();
  const catalog = (await loadCatalog([path.resolve('benchmarks')])) as MapCatalog;
  const state = mkdtempSync(path.join(os.tmpdir(), 'by-perf-overhead-'));
  const set = await providerSet({ state, logger: silentLogger, maxLifetimeMs: 3_600_000 });
  const engine = dockerEngine(t.socket);
  if (!engine) throw new Error(`no dockerd listens on ${t.socket}`);
  const procs = [
    proc(process.pid, 'controller (this process) and the docker CLI it runs', true),
    proc(engine.dockerd, `engine of ${t.where} (listens on ${t.socket})`),
  ];
  printAccounted(
    procs,
    engine.containerd(new Set()).map((pid) => proc(pid, 'its containerd: not counted (nor are the shims)')),
  );
  const meter = new CpuMeter(procs);
  /** CPU ms of [controller + CLI, engine] and the repetitions they were spent on, per path. */
  const cpu: Record<string, { ctrl: number; engine: number; n: number }> = {};
  const account = (key: string, used: Map<number, number>, n: number) => {
    const c = (cpu[key] ??= { ctrl: 0, engine: 0, n: 0 });
    c.ctrl += used.get(procs[0]!.pid)!;
    c.engine += used.get(procs[1]!.pid)!;
    c.n += n;
  };
  const measured = async (key: string, fn: () => Promise<unknown> | unknown) => {
    const m = meter.mark();
    const ms = await time(fn);
    account(key, meter.since(m), 1);
    return ms;
  };

  const plan = planMatrix(
    validateMatrix(
      YamlSource.parse(
        'perf.yaml',
        `name: perf\nrepetitions: ${N}\ntargets: [${t.yaml}]\nbenchmarks: [{benchmark: sysbench-cpu, params: {time: 1}}]\n`,
      ),
      catalog,
    ),
    catalog,
  );
  const gaps: number[] = [];
  const schedulerRun = async () => {
    const store = new SqliteStore(state);
    const scheduler = new Scheduler({
      providers: set.providers,
      store,
      artifacts: new ArtifactDir(state),
      session: set.session,
      imageSource: local,
      monitor: (machine, sink, o) =>
        machineMonitor(machine, sink, { ...o, logger: silentLogger, imageSource: local }),
      logger: silentLogger,
    });
    const m = meter.mark();
    const outcome = await scheduler.run(plan, {
      runId: newRunId(Date.now()),
      signal: new AbortController().signal,
    });
    const used = meter.since(m);
    await store.close();
    const failed = outcome.results.filter((r) => r.status !== 'passed');
    if (failed.length)
      throw new Error(`repetitions failed: ${failed.map((r) => r.failureReason).join('; ')}`);
    // Wall time per repetition from one container's start to the next one's start.
    const starts = outcome.results.map((r) => Date.parse(r.startedAt)).sort((a, b) => a - b);
    gaps.push(...starts.slice(1).map((s, i) => s - starts[i]!));
    account('scheduler', used, outcome.results.length);
  };
  await schedulerRun(); // also brings the image to a remote machine

  // The engine path runs on the machine acquired as a run acquires it (lease, SSH session).
  const targetSpec: TargetSpec = plan.cells[0]!.target as TargetSpec;
  const provider = set.providers.get(targetSpec.provider)!;
  const machine = await provider.acquire(targetSpec, AbortSignal.timeout(60_000));
  const rows: [string, string, number][] = [];
  try {
    const runner = dockerRunner(dockerOfMachine(machine));
    for (const [label, argv] of [
      ['true', ['true']],
      ['sysbench cpu 1s', ['sysbench', 'cpu', '--time=1', 'run']],
    ] as const) {
      const cli: number[] = [];
      const eng: number[] = [];
      for (let i = 0; i < N; i++) {
        cli.push(
          await measured(`${label}|cli`, () =>
            execFileSync(
              'docker',
              ['-H', `unix://${t.socket}`, 'run', '--rm', '--network', 'none', IMAGE, ...argv],
              {
                stdio: 'ignore',
              },
            ),
          ),
        );
        eng.push(
          await measured(`${label}|engine`, () =>
            runner.run(
              {
                name: `perf-${process.pid}-${i}`,
                image: IMAGE,
                argv,
                labels: {},
                network: 'none',
                timeoutMs: 60_000,
              },
              { signal: new AbortController().signal },
            ),
          ),
        );
      }
      rows.push([label, 'docker run --rm', median(cli)], [label, 'benchyard engine', median(eng)]);
    }
  } finally {
    await provider.release(machine, AbortSignal.timeout(60_000));
  }
  await schedulerRun();
  set.close();
  rows.push(['sysbench cpu 1s', 'benchyard scheduler (per repetition)', median(gaps)]);

  const perRep = (key: string) => {
    const c = cpu[key];
    return c ? `${(c.ctrl / c.n).toFixed(0).padStart(5)} / ${(c.engine / c.n).toFixed(0).padStart(5)}` : '';
  };
  const keyOf = (what: string, how: string) =>
    `${what}|${how.startsWith('docker') ? 'cli' : how.includes('scheduler') ? 'x' : 'engine'}`;
  console.log(
    `\n${t.where}: median of ${N} (scheduler: ${gaps.length} gaps) on ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'cpu'}), load ${os.loadavg()[0]!.toFixed(2)}`,
  );
  console.log(`${''.padEnd(57)} wall ms   CPU ms per repetition: controller+CLI / engine`);
  for (const [what, how, ms] of rows)
    console.log(
      `  ${what.padEnd(16)} ${how.padEnd(38)} ${ms.toFixed(0).padStart(6)}   ${how.includes('scheduler') ? perRep('scheduler') : perRep(keyOf(what, how))}`,
    );
  const ratio = median(gaps) / rows.find((r) => r[0] === 'sysbench cpu 1s' && r[1] === 'docker run --rm')![2];
  // Within 5 %: no more than 5 % slower (a repetition may well come out faster than the CLI).
  console.log(
    `repetition / docker run (sysbench 1 s): ${ratio.toFixed(3)} (${((ratio - 1) * 100).toFixed(1)} %; target at most +5 %) ${ratio <= 1.05 ? 'ok' : 'MISS'}`,
  );
}

await main();

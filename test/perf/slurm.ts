/**
 * What Slurm costs, on the test cluster of `scripts/services up slurm` (slurmctld here,
 * slurmd in the test hosts' namespaces, h1's sshd as the login node). Two parts:
 *
 *  1. Submit to running: N holder jobs one after the other, `SlurmProvider.acquire` until
 *     the machine is ready, then `release`. The provider's SSH connections are watched
 *     (each connect and each Slurm command timed), which splits acquire into: login
 *     connect + sbatch answered; queued until squeue says RUNNING (Slurm's scheduler: a
 *     batch job's first scheduling attempt may be put off by `batch_sched_delay`, 3 s
 *     unless set, and the main loop runs every `sched_interval`; then our polling); the
 *     node read and connected (scontrol, sinfo, SSH + Docker ping, the
 *     probe in the job, `slurmd -G`). Release: containers removed, scancel, end state
 *     confirmed, connections closed.
 *  2. Per repetition: the same trivial container, K repetitions through the CLI, on node h1
 *     as a `slurm` target (`constraint: fpga0`) and on h1 as an `ssh` host, alternated for
 *     R rounds so that drift on this shared machine hits both: time to the first container,
 *     container start to start, the gap between containers (the scheduler's per-repetition
 *     work), the tail after the last one (release, teardown) and the whole command.
 *
 * `flock /tmp/benchyard-build.lock npm run build && npm run perf:slurm [-- --acquires=8 --reps=30 --rounds=3]`
 * Prints figures; asserts nothing. Leaves no job or container behind, also on Ctrl-C.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SlurmProvider } from '../../providers/slurm/index.js';
import { Ssh2Connector } from '../../providers/ssh/index.js';
import {
  silentLogger,
  systemClock,
  type Machine,
  type MachineConnector,
  type SshSession,
} from '../../src/core/index.js';
import { SqliteLedger } from '../../src/ledger/index.js';
import { BIN, cli } from '../helpers/cli.js';
import { requireSshHosts } from '../helpers/remote-hosts.js';
import { liveJobs, requireSlurm, testTarget, type DevSlurm } from '../helpers/slurm.js';

const arg = (name: string, dflt: number) =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? dflt);
const ACQUIRES = arg('acquires', 8);
const REPS = arg('reps', 30);
const ROUNDS = arg('rounds', 3);
const POLL = '250ms';
const IMAGE = 'benchyard/bench-tools:1';

/** Ctrl-C / SIGTERM: stop starting things, let what runs end and be released. */
const stop = new AbortController();
let child: ChildProcess | undefined;
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.on(sig, () => {
    if (stop.signal.aborted) process.exit(130);
    console.error(`\n${sig}: stopping; releasing what is held (again to quit at once)`);
    stop.abort(new Error(sig));
    child?.kill('SIGINT'); // once: a second SIGINT makes the CLI quit without cleaning up
  });

function stats(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(s.length * q))] ?? NaN;
  return { median: at(0.5), p90: at(0.9), min: s[0] ?? NaN, max: s.at(-1) ?? NaN };
}
const ms = (x: number) => (Number.isNaN(x) ? '-' : x.toFixed(0)).padStart(7);

/** Times of the provider's SSH connects and Slurm commands, since the last `reset`. */
class Trace {
  private marks: { what: string; at: number }[] = [];
  mark(what: string) {
    this.marks.push({ what, at: performance.now() });
  }
  reset() {
    this.marks = [];
  }
  /** When `what` happened first (or last) after `after`. */
  at(what: string, o: { after?: number; last?: boolean } = {}): number {
    const hits = this.marks.filter((m) => m.what === what && m.at >= (o.after ?? 0));
    return (o.last ? hits.at(-1) : hits[0])?.at ?? NaN;
  }
  count(what: string, from: number, to: number): number {
    return this.marks.filter((m) => m.what === what && m.at >= from && m.at <= to).length;
  }
}

/** The Slurm command a shell line runs; `squeue --jobs=` (one job's state) apart from the others. */
const commandOf = (cmd: string) =>
  cmd.startsWith('scontrol show job')
    ? 'scontrol-job'
    : cmd.startsWith('squeue') && cmd.includes('--jobs=')
      ? 'squeue-job'
      : cmd.includes('slurmd -G')
        ? 'slurmd-G'
        : (/^(sbatch|squeue|scancel|sinfo|scontrol)\b/.exec(cmd)?.[1] ?? 'sh');

/** The connector the provider is given: Ssh2Connector, every connect and exec marked. */
function tracing(trace: Trace): MachineConnector {
  const inner = new Ssh2Connector({ logger: silentLogger });
  return {
    async connect(endpoint, signal, opts) {
      const kind = opts?.docker === false ? 'login' : 'node';
      trace.mark(`${kind} connect`);
      const session = await inner.connect(endpoint, signal, opts);
      trace.mark(`${kind} connected`);
      const exec: SshSession['exec'] = async (command, sig) => {
        const what = commandOf(command);
        trace.mark(`>${what}`);
        try {
          return await session.exec(command, sig);
        } finally {
          trace.mark(`<${what}`);
        }
      };
      return new Proxy(session, {
        get: (t, p) => {
          if (p === 'exec') return exec;
          const v: unknown = Reflect.get(t, p, t);
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
        },
      });
    },
  };
}

/** Part 1: N acquires and releases in a row; each phase's times. */
async function submitToRunning(cluster: DevSlurm, state: string) {
  const trace = new Trace();
  /** Slurm's pending reasons the provider reported, for the acquire under way. */
  let reasons: string[] = [];
  const waited = new Map<string, number>();
  const provider = new SlurmProvider({
    ledger: new SqliteLedger(mkdtempSync(path.join(state, 'state-')), `s-perf-slurm-${process.pid}`),
    connector: tracing(trace),
    maxLifetimeMs: 3_600_000,
    clock: systemClock,
    logger: silentLogger,
    progress: (line) => reasons.push(/waits in partition '[^']*': ([^,]+)/.exec(line)?.[1] ?? line),
  });
  const spec = testTarget(cluster, { pollInterval: POLL });
  const phases = new Map<string, number[]>();
  const put = (k: string, v: number) => phases.set(k, [...(phases.get(k) ?? []), v]);
  const nodes: string[] = [];
  for (let i = 0; i < ACQUIRES && !stop.signal.aborted; i++) {
    trace.reset();
    reasons = [];
    const t0 = performance.now();
    let machine: Machine | undefined = await provider.acquire(
      spec,
      AbortSignal.any([stop.signal, AbortSignal.timeout(120_000)]),
    );
    try {
      const t1 = performance.now();
      nodes.push(machine.hostname);
      const why = reasons.length ? [...new Set(reasons)].join(' then ') : 'never seen pending';
      waited.set(why, (waited.get(why) ?? 0) + 1);
      const sbatched = trace.at('<sbatch');
      const running = trace.at('>scontrol-job', { after: sbatched });
      put('submit: sbatch answered', sbatched - t0);
      put('  of which login connect', trace.at('login connected') - trace.at('login connect'));
      put('  of which sbatch', sbatched - trace.at('>sbatch'));
      put('queue: squeue says RUNNING', running - sbatched);
      put('  polls (squeue --jobs)', trace.count('<squeue-job', sbatched, running));
      put('node: read, connected, probed', t1 - running);
      put('  of which scontrol + sinfo', trace.at('node connect') - running);
      put('  of which SSH + Docker ping', trace.at('node connected') - trace.at('node connect'));
      put('  of which job probe (/proc)', trace.at('<sh') - trace.at('>sh'));
      put('  of which slurmd -G', trace.at('<slurmd-G') - trace.at('>slurmd-G'));
      put('acquire (total)', t1 - t0);
      const r0 = performance.now();
      const m = machine;
      machine = undefined;
      await provider.release(m, AbortSignal.timeout(60_000));
      const r1 = performance.now();
      const cancelled = trace.at('<scancel', { after: r0 });
      const confirmed = trace.at('<squeue-job', { after: cancelled, last: true });
      put('release: containers removed', trace.at('>scancel', { after: r0 }) - r0);
      put('  scancel', cancelled - trace.at('>scancel', { after: r0 }));
      put('  end state confirmed', confirmed - cancelled);
      put('  connections closed', r1 - confirmed);
      put('release (total)', r1 - r0);
    } finally {
      if (machine) await provider.release(machine, AbortSignal.timeout(60_000));
    }
  }
  console.log(
    `\n1. submit to running: ${phases.get('acquire (total)')?.length ?? 0} acquires in a row (nodes ${[...new Set(nodes)].sort().join(', ')}), pollInterval ${POLL}`,
  );
  console.log(`${''.padEnd(34)}  median     p90     min     max   (ms)`);
  for (const [k, v] of phases) {
    const s = stats(v);
    console.log(`  ${k.padEnd(32)} ${ms(s.median)} ${ms(s.p90)} ${ms(s.min)} ${ms(s.max)}`);
  }
  console.log(`  pending reasons (acquires): ${[...waited].map(([why, n]) => `${why} ×${n}`).join(', ')}`);
}

/** A one-cell matrix: the trivial container, K repetitions, on the target given. */
function matrix(name: string, target: string): string {
  return `name: perf-slurm-${name}
repetitions: ${REPS}
targets:
${target}
benchmarks:
  - name: noop
    benchmark:
      name: noop
      image: ${IMAGE}
      command: [sh, -c, 'echo "seconds: 0.001"']
      network: none
      scores: [{ name: seconds, unit: s, direction: lower, from: stdout, regex: 'seconds: ([0-9.]+)' }]
`;
}

interface RunFigures {
  first: number;
  period: number;
  gap: number;
  container: number;
  tail: number;
  total: number;
}

/** One CLI run; its figures from the results' container start and finish times. */
async function cliRun(dir: string, file: string): Promise<RunFigures> {
  const state = mkdtempSync(path.join(dir, 'state-'));
  const t0 = Date.now();
  // Its own process group: a Ctrl-C here reaches it once, through the handler above.
  const c = spawn(process.execPath, [BIN, 'run', file, '--json', '--state', state], {
    cwd: dir,
    env: { ...process.env, CI: 'true' },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = c;
  let stdout = '';
  let stderr = '';
  c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const cut = setTimeout(() => c.kill('SIGINT'), 150_000);
  const code = await new Promise<number>((resolve) => c.on('close', (n) => resolve(n ?? -1)));
  const t1 = Date.now();
  clearTimeout(cut);
  child = undefined;
  if (code !== 0) {
    // Cut off or failed: whatever it left (a holder job, containers) goes now.
    const gc = await cli(['gc', '--state', state]);
    throw new Error(
      `benchyard run exited ${code}: ${stderr.trim().slice(-800)}\ngc: ${gc.stdout}${gc.stderr}`,
    );
  }
  const results = (
    JSON.parse(stdout) as { results: { status: string; startedAt: string; finishedAt: string }[] }
  ).results;
  const bad = results.filter((r) => r.status !== 'passed');
  if (bad.length || results.length === 0)
    throw new Error(`${bad.length} of ${results.length} repetitions failed`);
  const reps = results
    .map((r) => ({ start: Date.parse(r.startedAt), end: Date.parse(r.finishedAt) }))
    .sort((a, b) => a.start - b.start);
  const next = reps.slice(1);
  return {
    first: reps[0]!.start - t0,
    period: stats(next.map((r, i) => r.start - reps[i]!.start)).median,
    gap: stats(next.map((r, i) => r.start - reps[i]!.end)).median,
    container: stats(reps.map((r) => r.end - r.start)).median,
    tail: t1 - reps.at(-1)!.end,
    total: t1 - t0,
  };
}

/** Part 2: the same container on h1 through Slurm and as an ssh host, alternated. */
async function perRepetition(cluster: DevSlurm, dir: string) {
  const h1 = (await requireSshHosts()).find((h) => h.name === 'h1')!;
  const sshBlock = `user: ${h1.user}, keyFile: ${h1.keyFile}, knownHosts: ${h1.knownHostsFile}, connectTimeout: 20s`;
  const files = {
    slurm: `  - name: node
    provider: slurm
    login: { host: ${cluster.login} }
    partition: ${cluster.partition}
    constraint: fpga0
    nodes: 1
    gres: gpu:fake:1
    gpuDevices: gres
    timeLimit: 15m
    pollInterval: ${POLL}
    ssh: { ${sshBlock}, dockerSocket: '/run/benchyard-hosts/{node}/docker.sock' }`,
    ssh: `  - name: node
    provider: ssh
    hosts: [{ host: ${h1.address}, dockerSocket: ${h1.dockerSocket} }]
    ssh: { ${sshBlock} }`,
  };
  const paths = Object.fromEntries(
    Object.entries(files).map(([k, t]) => {
      const f = path.join(dir, `${k}.yaml`);
      writeFileSync(f, matrix(k, t));
      return [k, f];
    }),
  ) as Record<keyof typeof files, string>;
  const cols = ['first', 'period', 'gap', 'container', 'tail', 'total'] as const;
  console.log(
    `\n2. per repetition: '${IMAGE}' sh -c 'echo …', ${REPS} repetitions through the CLI on h1, ${ROUNDS} rounds alternated (ms)`,
  );
  console.log(
    "   first: CLI start to first container start (acquire + prepare); period: start to start; gap: a container's end to the next one's start;\n" +
      '   container: start to end as the engine says; tail: last container end to CLI exit (release, teardown); total: the command',
  );
  const head = `  ${'round'.padEnd(10)}${cols.map((c) => c.padStart(10)).join('')}`;
  console.log(head);
  const all: Record<'slurm' | 'ssh', RunFigures[]> = { slurm: [], ssh: [] };
  for (let round = 1; round <= ROUNDS && !stop.signal.aborted; round++)
    for (const kind of ['slurm', 'ssh'] as const) {
      if (stop.signal.aborted) break;
      const f = await cliRun(dir, paths[kind]);
      all[kind].push(f);
      console.log(`  ${`${round} ${kind}`.padEnd(10)}${cols.map((c) => ms(f[c]).padStart(10)).join('')}`);
    }
  const med = (kind: 'slurm' | 'ssh') =>
    Object.fromEntries(
      cols.map((c) => [c, stats(all[kind].map((f) => f[c])).median]),
    ) as unknown as RunFigures;
  const [s, h] = [med('slurm'), med('ssh')];
  console.log(`  ${'median'.padEnd(10)}${''.padStart(10 * cols.length, '-')}`);
  console.log(`  ${'slurm'.padEnd(10)}${cols.map((c) => ms(s[c]).padStart(10)).join('')}`);
  console.log(`  ${'ssh'.padEnd(10)}${cols.map((c) => ms(h[c]).padStart(10)).join('')}`);
  console.log(`  ${'slurm-ssh'.padEnd(10)}${cols.map((c) => ms(s[c] - h[c]).padStart(10)).join('')}`);
}

async function main() {
  const cluster = await requireSlurm();
  const conf = readFileSync('/etc/slurm/slurm.conf', 'utf8');
  const setting = (k: string) => new RegExp(`^${k}=(.*)$`, 'm').exec(conf)?.[1] ?? '(default)';
  const params = setting('SchedulerParameters');
  console.log(
    `perf:slurm ${new Date().toISOString()}  ${os.cpus().length} cores, load ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  console.log(
    `cluster ${cluster.cluster}, partition ${cluster.partition}, login ${cluster.login}; slurm.conf: SchedulerType=${setting('SchedulerType')} SchedulerParameters=${params}${params.includes('batch_sched_delay') ? '' : " (batch_sched_delay unset: Slurm's default, 3 s)"}`,
  );
  const dir = mkdtempSync(path.join(os.tmpdir(), 'by-perf-slurm-'));
  try {
    await submitToRunning(cluster, dir);
    if (!stop.signal.aborted) await perRepetition(cluster, dir);
  } finally {
    const left = await liveJobs((j) => j.name.startsWith('benchyard-'));
    if (left.length)
      console.error(
        `benchyard jobs live now (ours, or another user's): ${left.map((j) => `${j.id} ${j.name} ${j.state}`).join('; ')}`,
      );
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  if (stop.signal.aborted) {
    console.error(`interrupted: ${(err as Error).message.split('\n')[0]}`);
    process.exit(130);
  }
  console.error(err);
  process.exit(1);
});

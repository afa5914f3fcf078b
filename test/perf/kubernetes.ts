/**
 * What Kubernetes costs, on the one-node test cluster of `scripts/services up k8s` (its node
 * is this machine). Two parts:
 *
 *  1. Holder create to running: N `KubernetesProvider.acquire` one after the other (holder
 *     pod created, scheduled, its pause container running, the node read), each released
 *     before the next.
 *  2. Per repetition: a trivial container (`true`, and a 2 ms `sleep`) run R times through
 *     `runContainer` on the held node's engine (each repetition a benchmark pod) and on a
 *     DockerEngine on this machine's Docker (`docker run`, the same image by id), in rounds
 *     alternated (k8s first, then docker first, ...) so that drift on this shared machine
 *     hits both. Per repetition: create (pod POSTed / container created), create to running
 *     (`start` returned: the pod's container runs), cycle (runContainer called to returned:
 *     wait, remove) and start to start (running to the next one running).
 *
 * `npm run perf:kubernetes [-- --acquires=5 --reps=20 --rounds=3]`
 * Prints figures; asserts nothing. Stops starting things after 5 minutes; releases what it
 * holds also on Ctrl-C.
 */
import Docker from 'dockerode';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KubernetesProvider } from '../../providers/kubernetes/index.js';
import { Ssh2Connector } from '../../providers/ssh/index.js';
import { kubernetesTarget } from '../../src/config/targets/kubernetes.js';
import {
  silentLogger,
  systemClock,
  type Engine,
  type Machine,
  type TargetSpec,
} from '../../src/core/index.js';
import { DockerEngine, runContainer } from '../../src/engine/index.js';
import { pushImage, registryDigestRef } from '../../src/images/index.js';
import { SqliteLedger } from '../../src/ledger/index.js';
import { K8S_NAMESPACE, requireK8s } from '../helpers/k8s.js';

const arg = (name: string, dflt: number) =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? dflt);
const ACQUIRES = arg('acquires', 5);
const REPS = arg('reps', 20);
const ROUNDS = arg('rounds', 3);
const BUDGET_MS = 300_000;
const REGISTRY = '127.0.0.1:5000';
const BASE = 'benchyard/base:bookworm';
const COMMANDS: Record<string, string[]> = { true: ['true'], 'sleep 2ms': ['sh', '-c', 'sleep 0.002'] };

/** Ctrl-C / SIGTERM or the time budget: stop starting things, release what is held. */
const stop = new AbortController();
const budget = setTimeout(() => stop.abort(new Error(`${BUDGET_MS / 1000} s budget spent`)), BUDGET_MS);
// Whatever hangs (a release that never answers), the process ends.
setTimeout(() => {
  console.error('still running 3 minutes past the budget: exiting; `benchyard gc` finds what is left');
  process.exit(3);
}, BUDGET_MS + 180_000).unref();
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.on(sig, () => {
    if (stop.signal.aborted) process.exit(130);
    console.error(`\n${sig}: stopping; releasing what is held (again to quit at once)`);
    stop.abort(new Error(sig));
  });

function stats(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(s.length * q))] ?? NaN;
  return { n: s.length, median: at(0.5), p90: at(0.9), min: s[0] ?? NaN, max: s.at(-1) ?? NaN };
}
const ms = (x: number) => (Number.isNaN(x) ? '-' : x.toFixed(0)).padStart(7);
const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

function kubeTarget(kubeconfig: string, context: string): TargetSpec {
  return {
    name: 'k8s',
    provider: 'kubernetes',
    options: kubernetesTarget.parse({
      kubeconfig,
      context,
      namespace: K8S_NAMESPACE,
      cpu: '500m',
      memory: '256Mi',
      scheduleTimeout: '60s',
      holdTimeout: '120s',
    }),
  };
}

/** Part 1: N acquires and releases in a row; acquire split by the provider's own step times. */
async function acquires(provider: KubernetesProvider, spec: TargetSpec, waits: string[]) {
  const phases = new Map<string, number[]>();
  const put = (k: string, v: number) => phases.set(k, [...(phases.get(k) ?? []), v]);
  let waited = 0;
  for (let i = 0; i < ACQUIRES && !stop.signal.aborted; i++) {
    const told = waits.length;
    const t0 = performance.now();
    const machine = await provider.acquire(
      spec,
      AbortSignal.any([stop.signal, AbortSignal.timeout(150_000)]),
    );
    const t1 = performance.now();
    const returned = Date.now();
    await provider.release(machine, AbortSignal.timeout(120_000));
    const p = machine.provision ?? {};
    if (waits.length > told) waited++;
    put('acquire (total)', t1 - t0);
    put('  holder POSTed', (p.created ?? NaN) - (p.requested ?? NaN));
    put('  POSTed to Running', (p.running ?? NaN) - (p.created ?? NaN));
    put('  node read, sized', returned - (p.running ?? NaN));
    put('release (total)', performance.now() - t1);
  }
  console.log(
    `\n1. holder create to running: ${phases.get('acquire (total)')?.length ?? 0} acquires in a row, released between (ms)`,
  );
  console.log(`  ${''.padEnd(20)}  median     min     max`);
  for (const [k, v] of phases) {
    const s = stats(v);
    console.log(`  ${k.padEnd(20)} ${ms(s.median)} ${ms(s.min)} ${ms(s.max)}`);
  }
  console.log(
    `  ${waited} acquire(s) waited for the node (another session's pods there); the provider said: ${waits.length ? [...new Set(waits)].join('; ') : '-'}`,
  );
}

interface Rep {
  create: number;
  running: number;
  cycle: number;
  /** performance.now() when `onStarted` ran. */
  startedAt: number;
}

/** An engine whose `create` is timed (when it returned). */
function timedCreate(engine: Engine, mark: { created: number }): Engine {
  return new Proxy(engine, {
    get: (t, p) => {
      if (p === 'create')
        return async (...a: Parameters<Engine['create']>) => {
          const c = await t.create(...a);
          mark.created = performance.now();
          return c;
        };
      const v: unknown = Reflect.get(t, p, t);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  });
}

/** R repetitions of `argv` on `engine`, one after the other. */
async function batch(engine: Engine, image: string, argv: string[], tag: string): Promise<Rep[]> {
  const mark = { created: NaN };
  const timed = timedCreate(engine, mark);
  const reps: Rep[] = [];
  for (let i = 0; i < REPS && !stop.signal.aborted; i++) {
    let startedAt = NaN;
    mark.created = NaN;
    const t0 = performance.now();
    const out = await runContainer(
      timed,
      {
        name: `by-perf-k8s-${process.pid}-${tag}-${i}`,
        image,
        argv,
        labels: { 'io.benchyard.session': `perf-k8s-${process.pid}`, 'io.benchyard.run': tag },
        network: 'bridge',
        timeoutMs: 60_000,
      },
      {
        signal: AbortSignal.any([stop.signal, AbortSignal.timeout(90_000)]),
        onStarted: () => (startedAt = performance.now()),
      },
      { logger: silentLogger },
    ).catch((err: unknown) => {
      if (stop.signal.aborted) return undefined; // cut off by the budget: keep what ran
      throw err;
    });
    const t1 = performance.now();
    if (!out) break;
    if (out.exitCode !== 0 && !out.cancelled)
      throw new Error(`${tag} repetition ${i} exited ${out.exitCode}: ${out.stderr.slice(-400)}`);
    if (out.cancelled) break;
    reps.push({ create: mark.created - t0, running: startedAt - t0, cycle: t1 - t0, startedAt });
  }
  return reps;
}

/** Part 2: the same image, k8s pods and `docker run`, alternated. */
async function perRepetition(k8sEngine: Engine, k8sImage: string, dockerImage: string) {
  const docker = new DockerEngine(new Docker());
  const all = new Map<string, Rep[][]>();
  const engines = {
    k8s: { engine: k8sEngine, image: k8sImage },
    docker: { engine: docker, image: dockerImage },
  } as const;
  console.log(
    `\n2. per repetition: ${REPS} repetitions per batch, ${ROUNDS} rounds alternated (k8s: pods of 500m / 256Mi on the held node; docker: no limits; network bridge for both)`,
  );
  for (let round = 1; round <= ROUNDS && !stop.signal.aborted; round++) {
    const order = round % 2 ? (['k8s', 'docker'] as const) : (['docker', 'k8s'] as const);
    for (const [cmd, argv] of Object.entries(COMMANDS))
      for (const kind of order) {
        if (stop.signal.aborted) break;
        const reps = await batch(engines[kind].engine, engines[kind].image, argv, `${kind}-r${round}`);
        const key = `${cmd}|${kind}`;
        all.set(key, [...(all.get(key) ?? []), reps]);
      }
    console.log(`  round ${round} done, load ${load()}`);
  }
  const cols = ['create', 'running', 'cycle', 'start→start'] as const;
  console.log(
    '  create: runContainer called to the container/pod created; running: to `start` returned (the container runs);\n' +
      '  cycle: runContainer called to returned (ran, waited, removed); start→start: running to the next repetition running',
  );
  console.log(
    `  ${'command'.padEnd(10)} ${'engine'.padEnd(9)}    n ${cols.map((c) => `${c} med/p90`.padStart(20)).join('')}`,
  );
  const medians = new Map<string, Record<string, number>>();
  for (const [key, batches] of all) {
    const [cmd, kind] = key.split('|') as [string, string];
    const reps = batches.flat();
    const s2s = batches.flatMap((b) => b.slice(1).map((r, i) => r.startedAt - b[i]!.startedAt));
    const figures = {
      create: stats(reps.map((r) => r.create)),
      running: stats(reps.map((r) => r.running)),
      cycle: stats(reps.map((r) => r.cycle)),
      'start→start': stats(s2s),
    };
    medians.set(key, Object.fromEntries(cols.map((c) => [c, figures[c].median])));
    console.log(
      `  ${cmd.padEnd(10)} ${kind.padEnd(9)} ${String(reps.length).padStart(4)} ${cols
        .map((c) => `${ms(figures[c].median)} /${ms(figures[c].p90)}`.padStart(20))
        .join('')}`,
    );
  }
  for (const cmd of Object.keys(COMMANDS)) {
    const [k, d] = [medians.get(`${cmd}|k8s`), medians.get(`${cmd}|docker`)];
    if (k && d)
      console.log(
        `  ${cmd.padEnd(10)} ${'k8s-docker'.padEnd(9)}      ${cols.map((c) => `${ms(k[c]! - d[c]!)}`.padStart(11).padEnd(20)).join('')}`,
      );
  }
}

async function main() {
  const k8s = await requireK8s();
  console.log(`perf:kubernetes ${new Date().toISOString()}  ${os.cpus().length} cores, load ${load()}`);
  const docker = new Docker();
  const pushed = await pushImage(docker, BASE, REGISTRY);
  const k8sImage = registryDigestRef(REGISTRY, pushed.repo, pushed.digest);
  const dockerImage = (await docker.getImage(BASE).inspect()).Id;
  console.log(`image ${BASE}: k8s pulls ${k8sImage}; docker runs ${dockerImage}`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'by-perf-k8s-'));
  const waits: string[] = [];
  const provider = new KubernetesProvider({
    ledger: new SqliteLedger(dir, `s-perf-k8s-${process.pid}`),
    connector: new Ssh2Connector({ logger: silentLogger }),
    maxLifetimeMs: 3_600_000,
    clock: systemClock,
    logger: silentLogger,
    progress: (line) => waits.push(line),
  });
  const spec = kubeTarget(k8s.kubeconfig, k8s.context);
  let machine: Machine | undefined;
  try {
    await acquires(provider, spec, waits);
    if (stop.signal.aborted) return;
    machine = await provider.acquire(spec, AbortSignal.any([stop.signal, AbortSignal.timeout(150_000)]));
    await perRepetition(machine.engine, k8sImage, dockerImage);
  } finally {
    if (machine) await provider.release(machine, AbortSignal.timeout(120_000));
    await provider.close();
    rmSync(dir, { recursive: true, force: true });
    clearTimeout(budget);
    console.log(
      `\nend ${new Date().toISOString()}, load ${load()}${stop.signal.aborted ? ` (stopped: ${(stop.signal.reason as Error).message})` : ''}`,
    );
  }
}

main().catch((err: unknown) => {
  console.error(stop.signal.aborted ? `stopped: ${(err as Error).message.split('\n')[0]}` : err);
  process.exit(stop.signal.aborted ? 130 : 1);
});

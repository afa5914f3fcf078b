/**
 * How often benchyard's verdict is right on this machine. Five configurations of a short
 * CPU benchmark (`sysbench cpu`, a fixed number of events, so the work is the same and the
 * score is the speed) run in containers with a CPU quota (`docker run --cpus`): the
 * baseline A (1 CPU), its twin A2 (the same), and slowed ones (0.98, 0.95, 0.90 CPU: a 2,
 * 5 and 10 % throughput loss). Each set measures every configuration n times, either
 * blocked (each configuration's n repetitions back to back, configurations in a seeded
 * random order: what `order: blocked` does) or interleaved (n rounds, each a new seeded
 * random order of the configurations: `order: interleaved`); sets of the two orders
 * alternate, so drift and neighbours fall on both. Every set gives trials (A2, S2, S5,
 * S10 against A) judged by `compare()`; printed: the false-alarm rate (A2 called
 * different) and the detection rates (S* called worse), with 95 % Wilson intervals.
 *
 *   npm run perf:verdicts [-- --quick] [--reps 10] [--budget 780] [--seconds 0.5] [--seed 16] [--json FILE]
 *
 * Default: n = 10 (trials at 10 and, from each set's halves, at 5 per group) until a
 * budget of 13 minutes is spent; `--quick`: n = 5 for 3.5 minutes. Containers run
 * `sleep` and each repetition is a `docker exec` in them (~0.05 s of overhead instead of a
 * container's start); they are removed at the end, also on Ctrl-C.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs, promisify } from 'node:util';
import { mulberry32 } from '../../src/analysis/index.js';
import {
  rateTable,
  trialsOf,
  type Config,
  type MeasuredSet,
  type Order,
  type Trial,
} from './verdicts-rates.js';

const run = promisify(execFile);
const IMAGE = 'benchyard/bench-tools:1';
/** Measured, each in its own container. */
const CONFIGS: Config[] = [
  { name: 'A', cpus: 1, slowdownPct: 0 },
  { name: 'A2', cpus: 1, slowdownPct: 0 },
  { name: 'S2', cpus: 0.98, slowdownPct: 2 },
  { name: 'S5', cpus: 0.95, slowdownPct: 5 },
  { name: 'S10', cpus: 0.9, slowdownPct: 10 },
];
/**
 * Judged against A: the measured ones, and A2's values scaled down. A quota slows a
 * container only while it could use more than its quota: on a machine that others keep
 * busy it barely binds, so the scaled twins are the differences known to be real.
 */
const CONTENDERS: Config[] = [
  ...CONFIGS.slice(1),
  { name: 'V2', scaled: 'A2', slowdownPct: 2 },
  { name: 'V5', scaled: 'A2', slowdownPct: 5 },
  { name: 'V10', scaled: 'A2', slowdownPct: 10 },
];

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      reps: { type: 'string' },
      budget: { type: 'string' },
      seconds: { type: 'string', default: '0.5' },
      seed: { type: 'string', default: '16' },
      json: { type: 'string' },
      from: { type: 'string' },
    },
  });
  if (values.from) {
    const saved = JSON.parse(readFileSync(values.from, 'utf8')) as { sets: MeasuredSet[] };
    report(saved.sets, `${saved.sets.length} sets read from ${values.from}.`);
    return;
  }
  const reps = Number(values.reps ?? (values.quick ? 5 : 10));
  const budgetS = Number(values.budget ?? (values.quick ? 210 : 780));
  const rand = mulberry32(Number(values.seed));
  const tag = `by-verdicts-${process.pid}`;
  const names = new Map(CONFIGS.map((c) => [c.name, `${tag}-${c.name.toLowerCase()}`]));
  const cleanup = () => run('docker', ['rm', '-f', ...names.values()]).catch(() => undefined);
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));

  const started = Date.now();
  const load0 = os.loadavg();
  try {
    for (const c of CONFIGS)
      await run('docker', [
        'run',
        '-d',
        '--rm',
        '--name',
        names.get(c.name)!,
        '--label',
        'benchyard.perf=verdicts',
        '--network',
        'none',
        '--cpus',
        String(c.cpus),
        IMAGE,
        'sleep',
        '3600',
      ]);
    // Events for ~`seconds` of work at full speed, measured once on the baseline.
    const rate = await sysbench(names.get('A')!, ['--time=1']);
    const events = Math.max(100, Math.round(rate * Number(values.seconds)));
    console.error(`calibrated: ${rate.toFixed(0)} events/s at 1 CPU → ${events} events per repetition`);

    const sets: MeasuredSet[] = [];
    for (let pair = 0; pair === 0 || (Date.now() - started) / 1000 < budgetS; pair++) {
      const orders: Order[] = pair % 2 ? ['interleaved', 'blocked'] : ['blocked', 'interleaved'];
      for (const order of orders) {
        const set: MeasuredSet = {
          order,
          load: os.loadavg()[0]!,
          values: Object.fromEntries(CONFIGS.map((c) => [c.name, []])),
        };
        for (const name of schedule(order, reps, rand))
          set.values[name]!.push(await sysbench(names.get(name)!, [`--events=${events}`, '--time=0']));
        sets.push(set);
      }
      console.error(`set pair ${pair + 1} done at ${((Date.now() - started) / 1000).toFixed(0)} s`);
    }

    const load1 = os.loadavg();
    report(
      sets,
      `${sets.length} sets of ${reps} repetitions × ${CONFIGS.length} configurations, ${events} sysbench events (~${values.seconds} s) per repetition, ${((Date.now() - started) / 1000).toFixed(0)} s in all; load average ${load0[0]!.toFixed(2)} at the start, ${load1[0]!.toFixed(2)} at the end.`,
    );
    if (values.json) writeFileSync(values.json, JSON.stringify({ reps, events, sets }, null, 2));
  } finally {
    await cleanup();
  }
}

/** Both tables: every set, and the sets run while the machine had a CPU for every runnable task. */
function report(sets: readonly MeasuredSet[], what: string): void {
  const cpus = os.cpus().length;
  const trials: Trial[] = sets.flatMap((s) => trialsOf(s, 'A', CONTENDERS));
  const configs = [...CONFIGS, ...CONTENDERS.slice(CONFIGS.length - 1)];
  console.log(`## Verdicts on this machine (${cpus} CPUs, shared with other work)\n`);
  console.log(`${what} Verdict: compare()'s at α = 0.05 (events_per_second is the primary score).\n`);
  console.log(`### All sets\n\n${rateTable(trials, configs)}\n`);
  const quietSets = sets.filter((s) => s.load <= cpus).length;
  if (quietSets === sets.length) return;
  const quiet = trials.filter((t) => t.load <= cpus);
  console.log(
    `### Sets started with the 1-minute load average ≤ ${cpus} (${quietSets} of ${sets.length})\n\n${quiet.length ? rateTable(quiet, configs) : '(none)'}\n`,
  );
}

/** The configurations' repetitions in the order a set runs them. */
function schedule(order: Order, reps: number, rand: () => number): string[] {
  const shuffled = () =>
    shuffle(
      CONFIGS.map((c) => c.name),
      rand,
    );
  if (order === 'blocked') return shuffled().flatMap((name) => Array<string>(reps).fill(name));
  return Array.from({ length: reps }, shuffled).flat();
}

function shuffle<T>(xs: T[], rand: () => number): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

async function sysbench(container: string, args: string[]): Promise<number> {
  const { stdout } = await run('docker', [
    'exec',
    container,
    'sysbench',
    'cpu',
    '--threads=1',
    ...args,
    'run',
  ]);
  const m = /events per second:\s*([0-9.]+)/.exec(stdout);
  if (!m) throw new Error(`no 'events per second' in sysbench's output:\n${stdout}`);
  return Number(m[1]);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});

/**
 * `npm run fuzz [-- --runs N --seed S --processes P]`: the long fuzz run. Generates N cases
 * (mutated matrices and benchmark definitions), runs each through the CLI in this process,
 * P of them as real processes (time and memory measured), and prints how many ran and
 * every kind of violation found, with a replayable example of each. Exit 1 if any.
 */
import fc from 'fast-check';
import { rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { caseArb } from './arbitraries.js';
import { materialize, prepareSeeds, runInProcess, runProcess, violations, type FuzzCase } from './harness.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5000' },
    seed: { type: 'string', default: String(Date.now() % 2 ** 31) },
    processes: { type: 'string', default: '100' },
  },
});
const runs = Number(values.runs);
const seed = Number(values.seed);
const processes = Number(values.processes);

const seeds = prepareSeeds();
const arb = fc.record({
  kind: fc.constantFrom<FuzzCase['kind']>('matrix', 'matrix', 'definition'),
  command: fc.nat(3),
  body: caseArb(100),
});
const cases: FuzzCase[] = fc
  .sample(arb, { numRuns: runs, seed })
  .map(({ kind, command, body }) => ({ kind, command, seed: body.seed, ops: body.ops }));

const found = new Map<string, { count: number; example: FuzzCase; argv: string[]; detail: string }>();
const codes = new Map<number, number>();
let slowest = 0;
let peakRss = 0;
const started = Date.now();
for (const [i, c] of cases.entries()) {
  const argv = materialize(seeds, c);
  const asProcess = i % Math.max(1, Math.floor(runs / Math.max(processes, 1))) === 0 && processes > 0;
  const outcome = asProcess ? await runProcess(argv) : await runInProcess(argv);
  codes.set(outcome.code, (codes.get(outcome.code) ?? 0) + 1);
  slowest = Math.max(slowest, outcome.cpuMs ?? outcome.ms);
  peakRss = Math.max(peakRss, outcome.maxRssBytes ?? 0);
  for (const v of violations(outcome, { json: argv.includes('--json') })) {
    const kind = `${v.replace(/\d+/g, 'N')} (${argv.slice(0, -1).join(' ')})`;
    const seen = found.get(kind);
    if (seen) seen.count++;
    else
      found.set(kind, {
        count: 1,
        example: c,
        argv,
        detail: `${v}\n${outcome.stderr.slice(0, 1500)}`,
      });
  }
  if ((i + 1) % 500 === 0) process.stderr.write(`${i + 1}/${runs} cases, ${found.size} kinds of violation\n`);
}
rmSync(seeds.dir, { recursive: true, force: true });

console.log(
  `fuzz: ${runs} cases (seed ${seed}), ${Math.min(processes, runs)} of them as processes, in ${Math.round((Date.now() - started) / 1000)} s`,
);
console.log(`exit codes: ${[...codes].map(([code, n]) => `${code}: ${n}`).join(', ')}`);
console.log(
  `slowest case ${Math.round(slowest)} ms; peak memory of a process ${Math.round(peakRss / 2 ** 20)} MiB`,
);
if (found.size === 0) console.log('no violation found');
for (const [kind, f] of found) {
  console.log(
    `\n${f.count} × ${kind}\n  case: ${JSON.stringify(f.example)}\n  ${f.detail.replace(/\n/g, '\n  ')}`,
  );
}
process.exitCode = found.size ? 1 : 0;

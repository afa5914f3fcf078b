/**
 * Time per repetition through benchyard vs a bare `docker run --rm` of the same image and
 * command. Prints medians; asserts nothing. `npm run perf:overhead [-- N]`.
 *
 * Three ways of running `sysbench cpu --time=1` (and `true`, for pure overhead):
 *  - docker CLI: `docker run --rm --network none IMAGE ARGV`
 *  - engine:     ContainerRunner (create, attach, start, wait, remove; no sampling)
 *  - scheduler:  one full repetition: container + cgroup sampling at 1 s + parsing + SQLite
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { silentLogger } from '../../src/core/index.js';
import { MapCatalog, validateMatrix, YamlSource, loadCatalog } from '../../src/config/index.js';
import { ContainerRunner } from '../../src/engine/index.js';
import { planMatrix } from '../../src/plan/index.js';
import { newRunId, Scheduler } from '../../src/schedule/index.js';
import { ArtifactDir, SqliteStore } from '../../src/store/index.js';
import { LocalProvider } from '../../providers/local/index.js';

const N = Number(process.argv[2] ?? 10);
const IMAGE = 'benchyard/bench-tools:1';
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function time(fn: () => Promise<unknown> | unknown): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

async function main() {
  const machine = await new LocalProvider().acquire(
    { name: 'h', provider: 'local', options: {} },
    AbortSignal.timeout(10_000),
  );
  const runner = new ContainerRunner(machine.docker, silentLogger);
  const catalog = (await loadCatalog([path.resolve('benchmarks')])) as MapCatalog;
  const rows: [string, string, number][] = [];

  for (const [label, argv] of [
    ['true', ['true']],
    ['sysbench cpu 1s', ['sysbench', 'cpu', '--time=1', 'run']],
  ] as const) {
    const cli: number[] = [];
    const engine: number[] = [];
    for (let i = 0; i < N; i++) {
      cli.push(
        await time(() =>
          execFileSync('docker', ['run', '--rm', '--network', 'none', IMAGE, ...argv], { stdio: 'ignore' }),
        ),
      );
      engine.push(
        await time(() =>
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
    rows.push([label, 'docker run --rm', median(cli)], [label, 'benchyard engine', median(engine)]);
  }

  const plan = planMatrix(
    validateMatrix(
      YamlSource.parse(
        'perf.yaml',
        `name: perf\nrepetitions: ${N}\ntargets: [{name: h, provider: local}]\nbenchmarks: [{benchmark: sysbench-cpu, params: {time: 1}}]\n`,
      ),
      catalog,
    ),
    catalog,
  );
  const store = new SqliteStore(mkdtempSync(path.join(os.tmpdir(), 'by-perf-')));
  const scheduler = new Scheduler({
    providers: new Map([['local', new LocalProvider()]]),
    store,
    artifacts: new ArtifactDir(os.tmpdir()),
    logger: silentLogger,
  });
  const outcome = await scheduler.run(plan, {
    runId: newRunId(Date.now()),
    signal: new AbortController().signal,
  });
  await store.close();
  // Wall time per repetition from one container's start to the next one's start.
  const starts = outcome.results.map((r) => Date.parse(r.startedAt));
  const gaps = starts.slice(1).map((t, i) => t - starts[i]!);
  rows.push(['sysbench cpu 1s', 'benchyard scheduler (per repetition)', median(gaps)]);

  console.log(`median of ${N} on ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'cpu'}):`);
  for (const [what, how, ms] of rows)
    console.log(`  ${what.padEnd(16)} ${how.padEnd(38)} ${ms.toFixed(0).padStart(6)} ms`);
}

await main();

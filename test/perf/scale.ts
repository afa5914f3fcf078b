/**
 * How one controller's cost grows with machines and repetitions, by simulation: the real
 * scheduler, fleet, work queues, `runContainer`, result parsing and stores (SQLite, and the
 * Elasticsearch sink against the test node: `scripts/services up es`) run simulated
 * machines whose fake engines answer in simulated time (test/helpers/sim). Each size runs
 * in a process of its own and prints the controller's CPU per repetition, wall time, peak
 * memory and where the CPU went (a V8 profile grouped by area), side by side.
 *
 *   npm run perf:scale [-- --sizes 10x1000,100x10000,1000x20000,1000x100000:sqlite]
 *                         [--samples 20] [--lag-ms 100] [--keep]
 *
 * A size is MACHINESxREPETITIONS, `:sqlite` for SQLite alone. Prints figures and fails
 * (exit 1) only when a check fails: a repetition not stored once, a machine not released once.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { SizeFigures, SizeSpec } from './scale-run.js';
import { poolTick } from './scale-pool.js';
import { printFigures } from './scale-print.js';

/**
 * 1,000 machines × 100,000 repetitions with the Elasticsearch sink is ~100,000 bulk requests
 * (the ES store flushes once per result): 305 s of wall time here on 2 shared cores, more
 * than the whole script may take. The default measures 1,000 machines × 20,000 with both
 * stores and 1,000 × 100,000 with SQLite alone (`--sizes 1000x100000` runs the full one).
 */
const DEFAULT_SIZES = '10x1000,100x10000,1000x20000,1000x100000:sqlite';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sizes: { type: 'string', default: DEFAULT_SIZES },
      samples: { type: 'string', default: '20' },
      'lag-ms': { type: 'string', default: '100' },
      keep: { type: 'boolean', default: false },
      child: { type: 'string' },
      out: { type: 'string' },
    },
  });
  if (values.child) {
    const { runSize } = await import('./scale-run.js');
    const figures = await runSize(JSON.parse(values.child) as SizeSpec);
    const { writeFileSync } = await import('node:fs');
    writeFileSync(values.out!, JSON.stringify(figures));
    return;
  }
  const specs = values.sizes.split(',').map((s): SizeSpec => {
    const m = /^(\d+)x(\d+)(:sqlite)?$/.exec(s.trim());
    if (!m) throw new Error(`--sizes: '${s}' is not MACHINESxREPETITIONS[:sqlite]`);
    return {
      machines: Number(m[1]),
      repetitions: Number(m[2]),
      es: !m[3],
      samples: Number(values.samples),
      lagMs: Number(values['lag-ms']),
      keep: values.keep,
    };
  });
  const all: SizeFigures[] = [];
  const t0 = performance.now();
  for (const spec of specs) {
    process.stderr.write(
      `perf:scale: ${spec.machines} machines × ${spec.repetitions} repetitions (${spec.es ? 'SQLite + Elasticsearch' : 'SQLite only'})…`,
    );
    const figures = await inChild(spec);
    process.stderr.write(` ${(figures.wallMs / 1000).toFixed(1)} s\n`);
    all.push(figures);
  }
  const pools = [...new Set(specs.map((s) => s.machines))].map(poolTick);
  printFigures(all, pools, { totalMs: performance.now() - t0 });
  if (all.some((f) => f.checks.some((c) => !c.ok))) process.exitCode = 1;
}

/** Runs one size in a fresh process (the same loader), so its peak memory is its own. */
async function inChild(spec: SizeSpec): Promise<SizeFigures> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'by-scale-out-'));
  const out = path.join(dir, 'figures.json');
  try {
    const child = spawn(
      process.execPath,
      [...process.execArgv, fileURLToPath(import.meta.url), '--child', JSON.stringify(spec), '--out', out],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    );
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('exit', resolve);
    });
    if (code !== 0) throw new Error(`size ${spec.machines}x${spec.repetitions} exited with ${code}`);
    return JSON.parse(readFileSync(out, 'utf8')) as SizeFigures;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();

/**
 * `benchyard benchmark list` and `benchyard benchmark validate <dir|matrix> [--sample-output FILE]`:
 * the quickest way to write a definition is to check it against a captured output.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import Table from 'cli-table3';
import { BenchmarkFailedError, InputError, type BenchmarkDefinition } from '../../core/index.js';
import { loadBenchmarkFolder, loadCatalog, loadMatrix } from '../../config/index.js';
import { parseScores } from '../../engine/index.js';
import { formatNumber } from '../../report/index.js';
import type { CliIo } from '../io.js';
import { BUILTIN_BENCHMARKS } from '../paths.js';

export async function benchmarkListCommand(
  opts: { json?: boolean; matrix?: string },
  io: CliIo,
): Promise<void> {
  const catalog = await loadCatalog([BUILTIN_BENCHMARKS]);
  const user = opts.matrix ? (await loadMatrix(opts.matrix, catalog)).inline : [];
  const defs = [
    ...catalog.list().map((d) => ({ d, origin: 'built-in' })),
    ...user.map((d) => ({ d, origin: 'user' })),
  ];
  if (opts.json)
    return io.stdout(
      `${JSON.stringify(
        defs.map(({ d, origin }) => ({ origin, ...d })),
        null,
        2,
      )}\n`,
    );
  const t = new Table({
    head: ['benchmark', 'origin', 'image', 'params (default)', 'scores'],
    style: { head: [] },
  });
  for (const { d, origin } of defs)
    t.push([
      `${d.name} v${d.version}`,
      origin,
      d.build ? `build ${path.relative(process.cwd(), d.build) || '.'}` : d.image,
      Object.entries(d.params)
        .map(([k, p]) => `${k}: ${p.type}${p.default !== undefined ? ` (${String(p.default)})` : ''}`)
        .join('\n'),
      d.scores.map((s) => `${s.name} ${s.unit} ${s.direction === 'higher' ? '↑' : '↓'}`).join('\n') ||
        '(exit code)',
    ]);
  io.stdout(`${t.toString()}\n`);
}

export async function benchmarkValidateCommand(
  target: string,
  opts: { sampleOutput?: string; sampleStderr?: string },
  io: CliIo,
): Promise<void> {
  const defs = await definitionsIn(target);
  for (const d of defs)
    io.stdout(`${d.name}: valid (${Object.keys(d.params).length} params, ${d.scores.length} scores)\n`);
  if (!opts.sampleOutput) return;
  const stdout = await readSample(opts.sampleOutput);
  const stderr = opts.sampleStderr ? await readSample(opts.sampleStderr) : '';
  let failed = 0;
  for (const d of defs) {
    const fileScores = d.scores.filter((s) => s.from.startsWith('/'));
    // A sample stands in for the stream or the file each score reads from.
    const files = new Map(fileScores.map((s) => [s.from, stdout]));
    const result = parseScores(d.scores, { stdout, stderr, files });
    if (result.ok) {
      for (const s of result.scores)
        io.stdout(`  ${d.name}.${s.name} = ${formatNumber(s.value)} ${s.unit}\n`);
    } else {
      failed++;
      io.stdout(`  ${d.name}: ${result.reason}\n`);
    }
  }
  if (failed > 0)
    throw new BenchmarkFailedError(`the sample output does not yield every score of ${failed} benchmark(s)`);
}

async function definitionsIn(target: string): Promise<BenchmarkDefinition[]> {
  const info = await stat(target).catch(() => undefined);
  if (!info) throw new InputError(`${target}: no such file or folder`);
  if (info.isDirectory()) return [await loadBenchmarkFolder(target)];
  const catalog = await loadCatalog([BUILTIN_BENCHMARKS]);
  const matrix = await loadMatrix(target, catalog);
  const names = [...new Set(matrix.entries.map((e) => e.benchmark))];
  return names.map((n) => matrix.inline.find((d) => d.name === n) ?? catalog.get(n)!);
}

async function readSample(file: string): Promise<string> {
  return readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new InputError(`${file}: cannot read the sample output (${err.code ?? err.message})`);
  });
}

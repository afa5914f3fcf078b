/**
 * `benchyard benchmark list` and `benchyard benchmark validate <dir|matrix> [--sample-output FILE]`:
 * the quickest way to write a definition is to check it against a captured output.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { BenchmarkFailedError, InputError, type BenchmarkDefinition } from '../../core/index.js';
import { loadBenchmarkFolder, loadCatalog, loadMatrix, readUserFile } from '../../config/index.js';
import { PARSE_DEADLINE_MS, parseScores, planRegex } from '../../engine/index.js';
import { dataTable, escapeControl, formatNumber } from '../../report/index.js';
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
  const rows = defs.map(({ d, origin }) => [
    `${d.name} v${d.version}`,
    origin,
    // Definitions are the user's: their text is escaped so one cell line stays one line.
    escapeControl(d.build ? `build ${path.relative(process.cwd(), d.build) || '.'}` : d.image),
    Object.entries(d.params)
      .map(([k, p]) =>
        escapeControl(`${k}: ${p.type}${p.default !== undefined ? ` (${String(p.default)})` : ''}`),
      )
      .join('\n'),
    d.scores
      .map((s) => escapeControl(`${s.name} ${s.unit} ${s.direction === 'higher' ? '↑' : '↓'}`))
      .join('\n') || '(exit code)',
  ]);
  io.stdout(
    `${dataTable(['benchmark', 'origin', 'image', 'params (default)', 'scores'], rows, io.columns)}\n`,
  );
}

export async function benchmarkValidateCommand(
  target: string,
  opts: { sampleOutput?: string; sampleStderr?: string },
  io: CliIo,
): Promise<void> {
  const defs = await definitionsIn(target);
  for (const d of defs) {
    io.stdout(`${d.name}: valid (${Object.keys(d.params).length} params, ${d.scores.length} scores)\n`);
    for (const line of regexEngines(d)) io.stdout(line);
  }
  if (!opts.sampleOutput) return;
  const stdout = await readSample(opts.sampleOutput);
  const stderr = opts.sampleStderr ? await readSample(opts.sampleStderr) : '';
  let failed = 0;
  for (const d of defs) {
    const fileScores = d.scores.filter((s) => s.from.startsWith('/'));
    // A sample stands in for the stream or the file each score reads from.
    const files = new Map(fileScores.map((s) => [s.from, stdout]));
    const result = await parseScores(d.scores, { stdout, stderr, files }, { signal: io.signal });
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

/**
 * Which engine each regex score runs on, and a warning for a backtracking pattern of a
 * shape known to take exponential time (it still runs, stopped at the parse deadline).
 */
function regexEngines(d: BenchmarkDefinition): string[] {
  const lines: string[] = [];
  for (const s of d.scores) {
    if (s.regex === undefined) continue;
    const plan = planRegex(s.regex);
    if ('error' in plan) continue; // the schema refused it already
    if (plan.engine === 're2') {
      lines.push(`  ${d.name}.${s.name}: regex on RE2 (linear time)\n`);
      continue;
    }
    lines.push(
      `  ${d.name}.${s.name}: regex on the backtracking engine (JavaScript syntax RE2 lacks; run off the main thread, stopped after ${PARSE_DEADLINE_MS / 1000}s)\n`,
    );
    if (plan.risk)
      lines.push(
        `  warning: ${d.name}.${s.name} can backtrack catastrophically: ${plan.risk}; write it without the nested quantifier, or in RE2 syntax (no lookaround or backreferences) to run in linear time\n`,
      );
  }
  return lines;
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

/** A captured output: a regular file only (a FIFO would block), as large as a container's kept output. */
function readSample(file: string): Promise<string> {
  return readUserFile(file, SAMPLE_MAX_BYTES);
}

/** What a repetition keeps of one stream (ContainerRunner's default), and a little more. */
const SAMPLE_MAX_BYTES = 64 * 1024 * 1024;

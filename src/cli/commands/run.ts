/** `benchyard run`: runs every cell of a matrix and stores the results (src/run runs it). */
import { writeFile } from 'node:fs/promises';
import { InputError, parseDuration } from '../../core/index.js';
import { loadCatalog, loadMatrix } from '../../config/index.js';
import { planMatrix } from '../../plan/index.js';
import { runJunit, summarize, summaryTable, runsLine } from '../../report/index.js';
import { executeRun, repetitionsFailure, type RunReport } from '../../run/index.js';
import { parsePercent, sayGate } from '../gate.js';
import type { CliIo } from '../io.js';
import { BUILTIN_BENCHMARKS } from '../paths.js';
import { parseRunAs } from '../run-id.js';
import { runDeps } from '../run-wiring.js';

export interface RunOptions {
  state: string;
  es?: string;
  json?: boolean;
  junit?: string;
  baseline?: string;
  maxRegression: string;
  maxLifetime: string;
  prices?: string[];
  /** `i/n`: run only the i-th of n parts of the matrix (needs `runId`, shared by all parts). */
  shard?: string;
  /** Store the run under this id (default: a new one). */
  runId?: string;
  /** Labels stored with the run; a later `--baseline <tag>` finds it by one. */
  tag?: string[];
  /** false (`--no-wait`): a machine another controller holds fails the run (exit 3) instead of waiting. */
  wait?: boolean;
}

const TAG = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export async function runCommand(matrixFile: string, opts: RunOptions, io: CliIo): Promise<void> {
  const runAs = parseRunAs(opts);
  const tags = parseTags(opts.tag);
  const catalog = await loadCatalog([BUILTIN_BENCHMARKS]);
  const matrix = await loadMatrix(matrixFile, catalog);
  const maxRegressionPct = parsePercent(opts.maxRegression);
  const maxLifetimeMs = parseLifetime(opts.maxLifetime);
  const esUrl = opts.es ?? matrix.elasticsearchUrl;
  const report = await executeRun(
    {
      plan: planMatrix(matrix, catalog),
      state: opts.state,
      ...(esUrl ? { esUrl } : {}),
      ...runAs,
      tags,
      ...(opts.baseline ? { baseline: opts.baseline } : {}),
      maxRegressionPct,
      maxLifetimeMs,
      wait: opts.wait !== false,
      webhooks: matrix.webhooks,
    },
    runDeps(
      { state: opts.state, esUrl, matrix, maxLifetimeMs, ...(opts.prices ? { prices: opts.prices } : {}) },
      io,
    ),
  );
  say(report, opts, io);
  if (opts.junit) await writeFile(opts.junit, junit(report));
  const failed = repetitionsFailure(report);
  if (failed) throw failed;
  if (report.gate) {
    io.stderr(
      `gate: ${report.run.id} against ${report.gate.comparison.baseline}, max regression ${maxRegressionPct}%\n`,
    );
    sayGate(report.gate, io.stderr);
  }
}

function say(r: RunReport, opts: RunOptions, io: CliIo): void {
  const summaries = summarize(r.results, r.plan.cells);
  if (opts.json)
    return io.stdout(
      `${JSON.stringify(
        {
          run: r.run,
          cells: summaries,
          results: r.results,
          annotations: r.annotations,
          skipped: r.skipped.map((s) => ({
            cellId: s.cell.id,
            entry: s.cell.entry,
            target: s.cell.target.name,
            reason: s.reason,
          })),
        },
        null,
        2,
      )}\n`,
    );
  io.stdout(`${summaryTable(summaries)}\n${runsLine(r.run)}\n`);
  io.stdout(`results: benchyard results --run ${r.run.id} --state ${opts.state}\n`);
}

function junit(r: RunReport): string {
  return runJunit(
    r.run,
    [...r.plan.cells, ...r.skipped.map((s) => s.cell)],
    r.results,
    r.gate && { comparison: r.gate.comparison, maxRegressionPct: r.gate.maxRegressionPct },
    new Map(r.skipped.map((s) => [s.cell.id, `skipped: target '${s.cell.target.name}' ${s.reason}`])),
  );
}

function parseTags(given: readonly string[] | undefined): string[] {
  const tags = [...new Set(given ?? [])];
  for (const t of tags)
    if (!TAG.test(t))
      throw new InputError(
        `--tag '${t}': letters, digits, '.', '_' and '-', up to 64, starting with a letter or digit`,
      );
  return tags;
}

function parseLifetime(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms < 60_000)
    throw new InputError(`--max-lifetime: '${text}' is not a duration of at least 1m (e.g. 6h)`);
  return ms;
}

/** `benchyard run`: runs every cell of a matrix and stores the results (src/run runs it). */
import { writeFile } from 'node:fs/promises';
import { InputError, parseDuration } from '../../core/index.js';
import { loadCatalog, loadMatrix } from '../../config/index.js';
import { planMatrix } from '../../plan/index.js';
import { runJunit, summarize, summaryTable, runsLine } from '../../report/index.js';
import {
  checkExpectations,
  describeCheck,
  executeRun,
  expectationsFailure,
  HISTORY_RUNS,
  repetitionsFailure,
  type ExpectationCheck,
  type RunReport,
} from '../../run/index.js';
import type { JunitCase } from '../../report/index.js';
import { parseBaselineRuns, parseGateKind, parsePercent, runGate } from '../gate.js';
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
  /** Pool the newest K passing runs the baseline names (a tag or latest-passing). */
  baselineRuns?: string;
  /** `baseline` (default): against the baseline; `changepoint`: change points over its history. */
  gate?: string;
  maxRegression: string;
  /** The gate counts repetitions marked suspect (unhealthy hardware) too. */
  includeSuspect?: boolean;
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
  /** The summary table at full width, whatever the terminal's. */
  wide?: boolean;
}

const TAG = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export async function runCommand(matrixFile: string, opts: RunOptions, io: CliIo): Promise<void> {
  const runAs = parseRunAs(opts);
  const tags = parseTags(opts.tag);
  const catalog = await loadCatalog([BUILTIN_BENCHMARKS]);
  const matrix = await loadMatrix(matrixFile, catalog);
  const maxRegressionPct = parsePercent(opts.maxRegression);
  const gate = parseGateKind(opts.gate);
  const baselineRuns = parseBaselineRuns(opts.baselineRuns);
  if (opts.baselineRuns !== undefined && (!opts.baseline || gate === 'changepoint'))
    throw new InputError(
      gate === 'changepoint'
        ? `--baseline-runs pools a baseline; --gate changepoint reads the history instead (its newest ${HISTORY_RUNS} runs)`
        : '--baseline-runs pools the runs --baseline names: give --baseline too',
    );
  // The changepoint gate's history: the baseline's tag, else every passing run of the matrix.
  const baseline = opts.baseline ?? (gate === 'changepoint' ? 'latest-passing' : undefined);
  const maxLifetimeMs = parseLifetime(opts.maxLifetime);
  const esUrl = opts.es ?? matrix.elasticsearchUrl;
  const report = await executeRun(
    {
      plan: planMatrix(matrix, catalog),
      state: opts.state,
      ...(esUrl ? { esUrl } : {}),
      ...runAs,
      tags,
      ...(baseline ? { baseline, baselineRuns, gate } : {}),
      maxRegressionPct,
      ...(opts.includeSuspect ? { includeSuspect: true } : {}),
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
  const checks = checkExpectations(report.plan.cells, report.results, matrix.expectations);
  const gated = baseline ? runGate(report, gate, maxRegressionPct) : undefined;
  if (opts.junit) await writeFile(opts.junit, junit(report, checks, gated?.cases ?? []));
  for (const c of checks.filter((x) => !x.ok))
    io.stderr(`expect: ${cellName(report, c.cellId)} ${describeCheck(c)}\n`);
  for (const line of gated?.lines ?? []) io.stderr(`${line}\n`);
  // Everything is said first; then the first failure ends the run: repetitions, expectations, the gate.
  const failed = repetitionsFailure(report) ?? expectationsFailure(checks) ?? gated?.failure;
  if (failed) throw failed;
}

function cellName(r: RunReport, cellId: string): string {
  const cell = r.plan.cells.find((c) => c.id === cellId);
  return cell ? `${cell.entry} on ${cell.target.name} [${cell.id}]` : cellId;
}

function say(r: RunReport, opts: RunOptions, io: CliIo): void {
  const summaries = summarize(r.results, r.plan.cells, { includeSuspect: opts.includeSuspect ?? false });
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
  io.stdout(`${summaryTable(summaries, opts.wide ? undefined : io.columns)}\n${runsLine(r.run)}\n`);
  io.stdout(`results: benchyard results --run ${r.run.id} --state ${opts.state}\n`);
}

function junit(r: RunReport, checks: readonly ExpectationCheck[], cases: readonly JunitCase[]): string {
  const expectations = new Map<string, { ok: boolean; line: string }[]>();
  for (const c of checks)
    expectations.set(c.cellId, [...(expectations.get(c.cellId) ?? []), { ok: c.ok, line: describeCheck(c) }]);
  return runJunit(
    r.run,
    [...r.plan.cells, ...r.skipped.map((s) => s.cell)],
    r.results,
    r.gate && { comparison: r.gate.comparison, maxRegressionPct: r.gate.maxRegressionPct },
    new Map(r.skipped.map((s) => [s.cell.id, `skipped: target '${s.cell.target.name}' ${s.reason}`])),
    { expectations, cases },
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

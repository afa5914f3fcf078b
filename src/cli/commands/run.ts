/** `benchyard run`: runs every cell of a matrix and stores the results. */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { compare } from '../../analysis/index.js';
import {
  BenchmarkFailedError,
  CancelledError,
  InfrastructureError,
  InputError,
  errorMessage,
  systemClock,
  type Provider,
  type RepetitionResult,
  type RunRecord,
} from '../../core/index.js';
import { loadCatalog, loadMatrix } from '../../config/index.js';
import { EventHub, storeEventSink, type Annotation } from '../../events/index.js';
import { planMatrix } from '../../plan/index.js';
import { runJunit, summarize, summaryTable, runsLine } from '../../report/index.js';
import { enforceGate, parsePercent } from '../gate.js';
import { newRunId, Scheduler, type RunOutcome } from '../../schedule/index.js';
import path from 'node:path';
import {
  ArtifactDir,
  DB_FILE,
  ElasticsearchStore,
  FanoutStore,
  SqliteStore,
  type Store,
} from '../../store/index.js';
import Docker from 'dockerode';
import { parseDuration } from '../../core/index.js';
import { place } from '../placement.js';
import { providerSet, RUN_LEDGER_PROVIDER } from '../providers.js';
import type { CliIo } from '../io.js';
import { machineMonitor } from '../monitors.js';
import { BUILTIN_BENCHMARKS } from '../paths.js';
import { createProgress } from '../progress.js';
import { checkRunId, parseRunAs, takeShard } from '../run-id.js';
import { storeFailure } from '../store-failure.js';

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
  const tags = [...new Set(opts.tag ?? [])];
  for (const t of tags)
    if (!TAG.test(t))
      throw new InputError(
        `--tag '${t}': letters, digits, '.', '_' and '-', up to 64, starting with a letter or digit`,
      );
  const catalog = await loadCatalog([BUILTIN_BENCHMARKS]);
  const matrix = await loadMatrix(matrixFile, catalog);
  const planned = takeShard(planMatrix(matrix, catalog), runAs.shard, io.stderr);
  const maxPct = parsePercent(opts.maxRegression);
  const baselineRun = opts.baseline
    ? await resolveBaseline(opts.state, opts.baseline, matrix.name)
    : undefined;

  const esUrl = opts.es ?? matrix.elasticsearchUrl;
  if (runAs.runId)
    await checkRunId(
      { state: opts.state, ...(esUrl ? { esUrl } : {}) },
      runAs.runId,
      runAs.shard,
      matrix.name,
    );
  const es = esUrl
    ? await ElasticsearchStore.connect({
        url: esUrl,
        ...definedOnly(matrix.elasticsearch ?? {}),
        spoolRoot: path.join(opts.state, 'spool'),
        logger: io.logger,
      })
    : undefined;
  const secondaries: Store[] = es ? [es] : [];
  const sqlite = new SqliteStore(opts.state);
  const store = new FanoutStore(sqlite, secondaries, io.logger);
  const maxLifetimeMs = parseDuration(opts.maxLifetime);
  if (maxLifetimeMs === undefined || maxLifetimeMs < 60_000)
    throw new InputError(`--max-lifetime: '${opts.maxLifetime}' is not a duration of at least 1m (e.g. 6h)`);
  const set = await providerSet({
    state: opts.state,
    logger: io.logger,
    maxLifetimeMs,
    ...(opts.prices ? { prices: opts.prices } : {}),
    progress: (line) => io.stderr(`${line}\n`),
  });
  const providers: ReadonlyMap<string, Provider> = set.providers;
  // Cells whose target cannot have what they require are skipped, with the reason.
  const runId = runAs.runId ?? newRunId(systemClock.now());
  // A shard that fails before its part of the run is stored stores an `error` part, so the
  // shared run does not wait for it for ever.
  let started = false;
  const recordShardFailure = async () => {
    if (!planned.shard || started) return;
    const now = new Date(systemClock.now()).toISOString();
    const part: RunRecord = {
      id: runId,
      name: planned.matrixName,
      matrixPath: planned.matrixFile,
      status: 'error',
      startedAt: now,
      finishedAt: now,
      cells: planned.cells.length,
      repetitions: planned.repetitions,
      passed: 0,
      failed: 0,
      shard: planned.shard,
      ...(tags.length ? { tags } : {}),
    };
    await store.startRun(part, []);
    await store.finishRun(part);
  };
  const { plan, skipped } = await place(planned, providers, io.logger, io.signal).catch(
    async (err: unknown) => {
      set.close();
      await recordShardFailure().catch((e: unknown) => io.logger.error(String(e)));
      await store.close().catch(() => undefined);
      throw err;
    },
  );
  // Images and the metrics agent reach remote machines from this engine.
  const controllerDocker = new Docker();
  const progress = createProgress(plan.repetitions, { interactive: io.interactive, write: io.stderr });
  // Every container event of the session is recorded; reactors classify deaths and OOM
  // kills, webhooks hear about them.
  const annotations: (Annotation & { runId: string; cellId: string; repetition: number })[] = [];
  const events = new EventHub({
    session: set.session,
    logger: io.logger,
    webhooks: matrix.webhooks,
    sinks: { sqlite: storeEventSink(sqlite), ...(es ? { elasticsearch: storeEventSink(es) } : {}) },
    annotations: {
      onAnnotation: (runId, cellId, repetition, a) => {
        annotations.push({ ...a, runId, cellId, repetition });
        io.logger.info(`${cellId} #${repetition} on ${a.machineId}: ${a.message}`);
      },
    },
  });
  const scheduler = new Scheduler({
    providers,
    store,
    // The artifact folder is the state folder's too: a full disk there stops the store.
    artifacts: new ArtifactDir(path.join(opts.state, 'artifacts'), { onFault: (f) => sqlite.fail(f) }),
    session: set.session,
    wait: opts.wait !== false,
    progress: (line) => io.stderr(`${line}\n`),
    imageSource: controllerDocker,
    machineWatch: events,
    logger: io.logger,
    onEvent: (e) => {
      if (e.type === 'run-started') started = true;
      progress.onEvent(e);
    },
    monitor: (machine, sink, m) =>
      machineMonitor(machine, sink, { ...m, logger: io.logger, imageSource: controllerDocker }),
  });

  let runEntry: string | undefined;
  // Left open where the run's end was not stored (or the ledger cannot be written): `gc`
  // finds the entry, sees its controller gone and marks the run cancelled.
  const closeRunEntry = () => {
    if (runEntry === undefined || sqlite.runEndStored(runId) === false) return;
    try {
      set.ledger.close(runEntry);
    } catch (err) {
      io.logger.debug(`the run's ledger entry stays open: ${errorMessage(err)}`);
    }
  };
  let outcome: RunOutcome;
  try {
    // The run itself is recorded like a machine: should this process die, `gc` finds the
    // entry, sees its controller gone and marks the run cancelled.
    runEntry = set.ledger.intend(
      {
        provider: RUN_LEDGER_PROVIDER,
        kind: 'run',
        details: { runId, ...(plan.shard ? { shard: plan.shard.index } : {}) },
      },
      new Date(systemClock.now() + maxLifetimeMs),
    ).key;
    set.ledger.update(runEntry, { resourceId: runId, status: 'active' });
    outcome = await scheduler.run(plan, { runId, tags, signal: io.signal });
  } catch (err) {
    progress.stop();
    closeRunEntry();
    set.close();
    await recordShardFailure().catch((e: unknown) => io.logger.error(String(e)));
    await events.close().catch((closeErr: unknown) => io.logger.error(String(closeErr)));
    await store.close().catch((closeErr: unknown) => io.logger.error(String(closeErr)));
    throw stateFailure(sqlite, err, runId, opts.state, io) ?? err;
  }
  progress.stop();
  closeRunEntry();
  set.close();
  await events.close();
  // Samples or events lost after the last result: the run's record is incomplete.
  const lost = stateFailure(sqlite, undefined, runId, opts.state, io);
  if (lost) {
    await store.close().catch(() => undefined);
    throw lost;
  }
  await store.close();

  const summaries = summarize(outcome.results, plan.cells);
  if (opts.json) {
    io.stdout(
      `${JSON.stringify(
        {
          run: outcome.run,
          cells: summaries,
          results: outcome.results,
          annotations,
          skipped: skipped.map((s) => ({
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
  } else {
    io.stdout(`${summaryTable(summaries)}\n${runsLine(outcome.run)}\n`);
    io.stdout(`results: benchyard results --run ${outcome.run.id} --state ${opts.state}\n`);
  }
  const gate = baselineRun ? await gateComparison(opts.state, baselineRun, outcome.results) : undefined;
  if (opts.junit)
    await writeFile(
      opts.junit,
      runJunit(
        outcome.run,
        [...plan.cells, ...skipped.map((s) => s.cell)],
        outcome.results,
        gate && { comparison: gate, maxRegressionPct: maxPct },
        new Map(skipped.map((s) => [s.cell.id, `skipped: target '${s.cell.target.name}' ${s.reason}`])),
      ),
    );
  const failed = outcome.results.filter((r) => r.status === 'failed');
  if (failed.some((r) => r.failureClass === 'INFRA'))
    throw new InfrastructureError(`${failed.length} repetitions failed, some because of the infrastructure`, {
      runId: outcome.run.id,
    });
  if (failed.length > 0)
    throw new BenchmarkFailedError(`${failed.length} of ${outcome.results.length} repetitions failed`, {
      runId: outcome.run.id,
    });
  if (gate) {
    io.stderr(`gate: ${outcome.run.id} against ${gate.baseline}, max regression ${maxPct}%\n`);
    enforceGate(gate, maxPct, io.stderr);
  }
}

/**
 * The run's end as the user reads it where the state folder failed under it (the store's
 * fault, or the ledger's on the same file); undefined where it did not. A cancel stays a
 * cancel (exit 130), with the store's failure said once.
 */
function stateFailure(
  sqlite: SqliteStore,
  err: unknown,
  runId: string,
  state: string,
  io: CliIo,
): InfrastructureError | undefined {
  // The ledger's fault on the same file counts, and comes first where the run ended with it.
  const fault =
    (err instanceof InfrastructureError && err.meta.file === sqlite.file ? err : undefined) ?? sqlite.failure;
  if (!fault) return undefined;
  if (err instanceof CancelledError) {
    io.logger.warn(fault.message);
    return undefined;
  }
  return storeFailure({
    fault,
    runId,
    state,
    endStored: sqlite.runEndStored(runId),
    lost: sqlite.lost,
    ...(err !== undefined ? { other: err } : {}),
  });
}

/** The new run against the baseline run, cell by cell. */
async function gateComparison(state: string, baselineRun: string, results: readonly RepetitionResult[]) {
  const reader = new SqliteStore(state);
  const before = await reader.listResults({ runId: baselineRun }).finally(() => reader.close());
  return compare([...before, ...results], { by: 'run', baseline: baselineRun });
}

/**
 * A stored run id; `latest-passing`: the latest passing run of the same matrix name; else a
 * tag: the latest passing run of the same matrix name with that tag.
 */
async function resolveBaseline(state: string, ref: string, matrixName: string): Promise<string> {
  if (!existsSync(path.join(state, DB_FILE)))
    throw new InputError(`--baseline: no benchyard store in '${state}'`);
  const store = new SqliteStore(state);
  try {
    if (await store.getRun(ref)) return ref;
    const tag = ref === 'latest-passing' ? undefined : ref;
    const run = (await store.listRuns(10_000)).find(
      (r) => r.status === 'passed' && r.name === matrixName && (tag === undefined || r.tags?.includes(tag)),
    );
    if (!run)
      throw new InputError(
        tag === undefined
          ? `--baseline latest-passing: no passing run of '${matrixName}' in '${state}'`
          : `--baseline '${ref}': no run with that id, and no passing run of '${matrixName}' tagged '${ref}' in '${state}'`,
      );
    return run.id;
  } finally {
    await store.close();
  }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

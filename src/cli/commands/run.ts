/** `benchyard run`: runs every cell of a matrix and stores the results. */
import { BenchmarkFailedError, InfrastructureError, systemClock, type Provider } from '../../core/index.js';
import { loadCatalog, loadMatrix } from '../../config/index.js';
import { planMatrix } from '../../plan/index.js';
import { summarize, summaryTable, runsLine } from '../../report/index.js';
import { newRunId, Scheduler, type RunOutcome } from '../../schedule/index.js';
import path from 'node:path';
import { ArtifactDir, ElasticsearchStore, FanoutStore, SqliteStore, type Store } from '../../store/index.js';
import { LocalProvider } from '../../../providers/local/index.js';
import type { CliIo } from '../io.js';
import { BUILTIN_BENCHMARKS } from '../paths.js';
import { createProgress } from '../progress.js';

export interface RunOptions {
  state: string;
  es?: string;
  json?: boolean;
}

export async function runCommand(matrixFile: string, opts: RunOptions, io: CliIo): Promise<void> {
  const catalog = await loadCatalog([BUILTIN_BENCHMARKS]);
  const matrix = await loadMatrix(matrixFile, catalog);
  const plan = planMatrix(matrix, catalog);

  const esUrl = opts.es ?? matrix.elasticsearchUrl;
  const secondaries: Store[] = esUrl ? [await ElasticsearchStore.connect({ url: esUrl })] : [];
  const store = new FanoutStore(new SqliteStore(opts.state), secondaries, io.logger);
  const providers = new Map<string, Provider>([['local', new LocalProvider()]]);
  const progress = createProgress(plan.repetitions, { interactive: io.interactive, write: io.stderr });
  const scheduler = new Scheduler({
    providers,
    store,
    artifacts: new ArtifactDir(path.join(opts.state, 'artifacts')),
    logger: io.logger,
    onEvent: (e) => progress.onEvent(e),
  });

  let outcome: RunOutcome;
  try {
    outcome = await scheduler.run(plan, { runId: newRunId(systemClock.now()), signal: io.signal });
  } catch (err) {
    progress.stop();
    await store.close().catch((closeErr: unknown) => io.logger.error(String(closeErr)));
    throw err;
  }
  progress.stop();
  await store.close();

  const summaries = summarize(outcome.results, plan.cells);
  if (opts.json) {
    io.stdout(
      `${JSON.stringify({ run: outcome.run, cells: summaries, results: outcome.results }, null, 2)}\n`,
    );
  } else {
    io.stdout(`${summaryTable(summaries)}\n${runsLine(outcome.run)}\n`);
    io.stdout(`results: benchyard results --run ${outcome.run.id} --state ${opts.state}\n`);
  }
  const failed = outcome.results.filter((r) => r.status === 'failed');
  if (failed.some((r) => r.failureClass === 'INFRA'))
    throw new InfrastructureError(`${failed.length} repetitions failed, some because of the infrastructure`, {
      runId: outcome.run.id,
    });
  if (failed.length > 0)
    throw new BenchmarkFailedError(`${failed.length} of ${outcome.results.length} repetitions failed`, {
      runId: outcome.run.id,
    });
}

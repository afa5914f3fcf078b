/** `benchyard results`: lists stored results, of one run (default: the latest). */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../../core/index.js';
import { resultsTable, runsLine, seriesTable } from '../../report/index.js';
import { DB_FILE, SqliteStore } from '../../store/index.js';
import type { CliIo } from '../io.js';

export async function resultsCommand(
  opts: { state: string; run?: string; json?: boolean; samples?: boolean },
  io: CliIo,
): Promise<void> {
  if (!existsSync(path.join(opts.state, DB_FILE)))
    throw new InputError(`no benchyard store in '${opts.state}' (run a matrix first, or pass --state DIR)`);
  const store = new SqliteStore(opts.state);
  try {
    const run = opts.run ? await store.getRun(opts.run) : (await store.listRuns(1))[0];
    if (!run)
      throw new InputError(
        opts.run ? `no run '${opts.run}' in '${opts.state}'` : `no runs in '${opts.state}'`,
      );
    if (opts.samples) {
      const samples = await store.listSamples({ runId: run.id });
      if (opts.json) return io.stdout(`${JSON.stringify({ run, samples }, null, 2)}\n`);
      return io.stdout(`${runsLine(run)}\n${seriesTable(samples)}\n`);
    }
    const results = await store.listResults({ runId: run.id });
    if (opts.json) return io.stdout(`${JSON.stringify({ run, results }, null, 2)}\n`);
    io.stdout(`${runsLine(run)}\n${resultsTable(results)}\n`);
  } finally {
    await store.close();
  }
}

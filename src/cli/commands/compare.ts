/** `benchyard compare`: groups stored results along one axis and compares them with a baseline. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { compare, type Axis } from '../../analysis/index.js';
import { InputError } from '../../core/index.js';
import { writeFile } from 'node:fs/promises';
import { COMPARE_FORMATS, compareJunit, renderComparison, type CompareFormat } from '../../report/index.js';
import { enforceGate, parsePercent } from '../gate.js';
import { DB_FILE, ElasticsearchReader, SqliteStore } from '../../store/index.js';
import type { CliIo } from '../io.js';

export interface CompareCliOptions {
  state: string;
  by: string;
  baseline?: string;
  run?: string[];
  format: string;
  junit?: string;
  maxRegression?: string;
  es?: string;
}

const AXES = ['target', 'provider', 'instance-type', 'run', 'image'];

export async function compareCommand(opts: CompareCliOptions, io: CliIo): Promise<void> {
  if (!AXES.includes(opts.by) && !/^param:[a-z][a-z0-9_]*$/.test(opts.by))
    throw new InputError(`--by '${opts.by}': expected one of ${AXES.join(', ')} or param:<name>`);
  if (!COMPARE_FORMATS.includes(opts.format as CompareFormat))
    throw new InputError(`--format '${opts.format}': expected one of ${COMPARE_FORMATS.join(', ')}`);
  if (!opts.es && !existsSync(path.join(opts.state, DB_FILE)))
    throw new InputError(`no benchyard store in '${opts.state}' (run a matrix first, or pass --state DIR)`);
  const store = opts.es ? new ElasticsearchReader(opts.es) : new SqliteStore(opts.state);
  const where = opts.es ?? opts.state;
  try {
    const runs = opts.run?.length
      ? opts.run
      : [(await store.listRuns(1))[0]?.id].filter((x): x is string => !!x);
    if (runs.length === 0) throw new InputError(`no runs in '${where}'`);
    const results = [];
    for (const id of runs) {
      if (!(await store.getRun(id))) throw new InputError(`no run '${id}' in '${where}'`);
      results.push(...(await store.listResults({ runId: id })));
    }
    let comparison;
    try {
      comparison = compare(results, {
        by: opts.by as Axis,
        ...(opts.baseline ? { baseline: opts.baseline } : {}),
      });
    } catch (err) {
      if (err instanceof RangeError) throw new InputError(err.message);
      throw err;
    }
    if (comparison.groups.length < 2)
      io.stderr(
        `note: only one group ('${comparison.baseline}') along '${opts.by}': nothing to compare against\n`,
      );
    io.stdout(renderComparison(comparison, opts.format as CompareFormat));
    const maxPct = opts.maxRegression !== undefined ? parsePercent(opts.maxRegression) : undefined;
    if (opts.junit)
      await writeFile(opts.junit, compareJunit(comparison, maxPct ?? 0, new Date().toISOString()));
    if (maxPct !== undefined) enforceGate(comparison, maxPct, io.stderr);
  } finally {
    await store.close();
  }
}

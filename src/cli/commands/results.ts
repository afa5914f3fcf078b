/**
 * `benchyard results`: lists stored results, of one run (default: the latest), or with
 * `--samples` its metric samples: every one where few are chosen (or `--all`), else one row
 * per series, or with `--provision` how long each of its machines took to become usable.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import {
  InputError,
  type MachineRecord,
  type MetricScope,
  type MetricSample,
  type RunRecord,
} from '../../core/index.js';
import {
  escapeControl,
  MachineNames,
  provisionTable,
  provisionTimeline,
  resultsTable,
  runsLine,
  samplesTable,
  selectSamples,
  seriesTable,
  type SampleFilter,
  type SamplesView,
} from '../../report/index.js';
import { DB_FILE, SqliteStore } from '../../store/index.js';
import type { CliIo } from '../io.js';

export interface ResultsOptions {
  state: string;
  run?: string;
  json?: boolean;
  samples?: boolean;
  /** With `samples`: every sample, however many (default: one row per series past {@link SAMPLE_ROWS}). */
  all?: boolean;
  cell?: string[];
  machine?: string[];
  scope?: string[];
  metric?: string[];
  /** The full table, whatever the terminal's width. */
  wide?: boolean;
  /** Each machine's provisioning timeline instead of the results. */
  provision?: boolean;
}

/** Chosen samples up to this many are listed one by one; more are summarised per series. */
export const SAMPLE_ROWS = 100;

const SCOPES: readonly MetricScope[] = ['container', 'host', 'gpu', 'app', 'collector'];

export async function resultsCommand(opts: ResultsOptions, io: CliIo): Promise<void> {
  const filter = parseFilter(opts);
  if (!existsSync(path.join(opts.state, DB_FILE)))
    throw new InputError(`no benchyard store in '${opts.state}' (run a matrix first, or pass --state DIR)`);
  const width = opts.wide ? undefined : io.columns;
  const store = new SqliteStore(opts.state);
  try {
    const run = opts.run ? await store.getRun(opts.run) : (await store.listRuns(1))[0];
    if (!run)
      throw new InputError(
        opts.run ? `no run '${opts.run}' in '${opts.state}'` : `no runs in '${opts.state}'`,
      );
    const machines = await store.listMachines({ runId: run.id });
    const names = new MachineNames(machines);
    const chosen = machines.filter(
      (m) =>
        !filter.machines?.length ||
        filter.machines.some((q) =>
          names.names(q, { machineId: m.machineId, host: m.hostname, target: m.target }),
        ),
    );
    if (opts.provision) return io.stdout(provisionText(run, chosen, opts.json, width));
    if (opts.samples) {
      const every = await store.listSamples({ runId: run.id });
      const samples = selectSamples(every, filter, names);
      if (opts.json) return io.stdout(`${JSON.stringify({ run, samples }, null, 2)}\n`);
      if (samples.length === 0) return io.stdout(`${runsLine(run)}\n${noMatch(every, names)}\n`);
      const view = { width, names, cells: await store.listCells(run.id), since: Date.parse(run.startedAt) };
      return io.stdout(`${runsLine(run)}\n${samplesText(samples, opts, view)}\n`);
    }
    const results = (await store.listResults({ runId: run.id })).filter(
      (r) =>
        (!filter.cells?.length || filter.cells.some((c) => r.cellId.startsWith(c))) &&
        (!filter.machines?.length ||
          filter.machines.some((m) =>
            names.names(m, {
              machineId: r.machineId,
              host: names.hostById.get(r.machineId) ?? r.machineId,
              target: r.target,
            }),
          )),
    );
    if (opts.json)
      return io.stdout(`${JSON.stringify({ run, results, machines: chosen.map(timelineOf) }, null, 2)}\n`);
    io.stdout(`${runsLine(run)}\n${resultsTable(results, width, names.hostById)}\n`);
  } finally {
    await store.close();
  }
}

/** A machine as `--json` lists it: who it was and its timeline (ms since the request). */
function timelineOf(m: MachineRecord) {
  const { machineId, target, provider, instanceType, hostname, provision } = m;
  return { machineId, target, provider, instanceType, hostname, ...(provision ? { provision } : {}) };
}

function provisionText(
  run: RunRecord,
  machines: readonly MachineRecord[],
  json: boolean | undefined,
  width: number | undefined,
): string {
  if (json) return `${JSON.stringify({ run, machines: machines.map(timelineOf) }, null, 2)}\n`;
  const timeline = provisionTimeline(machines);
  if (!timeline)
    return `${runsLine(run)}\nno machine of this run recorded a provisioning timeline${machines.length === 0 ? ' (the run kept no machine records)' : ''}\n`;
  return `${runsLine(run)}\n${provisionTable(timeline, width)}\nseconds from the request for the machine to each step it reached\n`;
}

function samplesText(
  samples: readonly MetricSample[],
  opts: ResultsOptions,
  view: SamplesView & { since: number },
): string {
  if (opts.all || samples.length <= SAMPLE_ROWS) return samplesTable(samples, view);
  const series = seriesTable(samples, { ...view, perRepetition: Boolean(opts.cell?.length) });
  return `${series}\n${samples.length} samples, one row per series${opts.cell?.length ? ' and repetition' : ''}: --all lists every sample, --json prints them`;
}

/** What the filters could have named: the run's cells and machines. */
function noMatch(every: readonly MetricSample[], names: MachineNames): string {
  const cells = [...new Set(every.map((s) => s.cellId).filter(Boolean))];
  const machines = [...new Set(every.map((s) => names.ofHost(s.host)))];
  return escapeControl(
    `no samples match: the run has ${every.length}${cells.length ? `, of cells ${cells.join(', ')}` : ''}${machines.length ? `, on ${machines.join(', ')}` : ''}`,
  );
}

function parseFilter(opts: ResultsOptions): SampleFilter {
  if (!opts.samples && (opts.scope?.length || opts.metric?.length || opts.all))
    throw new InputError('--scope, --metric and --all choose samples: use them with --samples');
  if (opts.provision && (opts.samples || opts.cell?.length))
    throw new InputError('--provision lists machines: use it without --samples and --cell');
  for (const s of opts.scope ?? [])
    if (!SCOPES.includes(s as MetricScope))
      throw new InputError(`--scope '${s}': expected one of ${SCOPES.join(', ')}`);
  return {
    ...(opts.cell ? { cells: opts.cell } : {}),
    ...(opts.machine ? { machines: opts.machine } : {}),
    ...(opts.scope ? { scopes: opts.scope as MetricScope[] } : {}),
    ...(opts.metric ? { metrics: opts.metric } : {}),
  };
}

/**
 * What `compare`, `report` and `serve` share: which store to read (the embedded SQLite, or
 * Elasticsearch), which runs (default: the latest), and the comparison along an axis.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { AXES, compare, parseAxis, withProvision, type Axis, type Comparison } from '../analysis/index.js';
import {
  InputError,
  type MachineRecord,
  type RepetitionResult,
  type ResultReader,
  type RunRecord,
} from '../core/index.js';
import { DB_FILE, ElasticsearchReader, SqliteStore } from '../store/index.js';

export type Reader = ResultReader & { close(): Promise<void> };

/** The store to read: `--es URL`, else the embedded store in `--state DIR` (which must exist). */
export function openReader(opts: { state: string; es?: string | undefined }): Reader {
  if (opts.es) return new ElasticsearchReader(opts.es);
  if (!existsSync(path.join(opts.state, DB_FILE)))
    throw new InputError(`no benchyard store in '${opts.state}' (run a matrix first, or pass --state DIR)`);
  return new SqliteStore(opts.state);
}

/** `--by` checked: an axis, or an InputError naming the choices. */
export function axisOption(text: string): Axis {
  const axis = parseAxis(text);
  if (!axis) throw new InputError(`--by '${text}': expected one of ${AXES.join(', ')} or param:<name>`);
  return axis;
}

export interface Selection {
  runs: RunRecord[];
  results: RepetitionResult[];
  machines: MachineRecord[];
}

/** The given runs (default: the latest) with their results and machines; unknown ids are InputErrors. */
export async function selectRuns(
  reader: ResultReader,
  ids: readonly string[] | undefined,
  where: string,
): Promise<Selection> {
  const wanted = ids?.length ? ids : [(await reader.listRuns(1))[0]?.id].filter((x): x is string => !!x);
  if (wanted.length === 0) throw new InputError(`no runs in '${where}'`);
  const selection: Selection = { runs: [], results: [], machines: [] };
  for (const id of wanted) {
    const run = await reader.getRun(id);
    if (!run) throw new InputError(`no run '${id}' in '${where}'`);
    selection.runs.push(run);
    selection.results.push(...(await reader.listResults({ runId: id })));
    selection.machines.push(...((await reader.listMachines?.({ runId: id })) ?? []));
  }
  return selection;
}

/**
 * The comparison of the selection along `by`; a baseline that is not a group is an
 * InputError. `note` hears when there is only one group (nothing to compare against).
 * `provision`: the machines' provisioning times join it as `provision.*` scores.
 * `includeSuspect`: repetitions on unhealthy hardware count too.
 */
export function compareSelection(
  s: Selection,
  by: Axis,
  baseline: string | undefined,
  note?: (text: string) => void,
  opts: { provision?: boolean; includeSuspect?: boolean } = {},
): Comparison {
  let comparison: Comparison;
  try {
    comparison = compare(s.results, {
      by,
      machines: s.machines,
      ...(baseline ? { baseline } : {}),
      ...(opts.includeSuspect ? { includeSuspect: true } : {}),
    });
    if (opts.provision) comparison = withProvision(comparison, s.machines);
  } catch (err) {
    if (err instanceof RangeError) throw new InputError(err.message);
    throw err;
  }
  if (comparison.groups.length < 2)
    note?.(`note: only one group ('${comparison.baseline}') along '${by}': nothing to compare against\n`);
  return comparison;
}

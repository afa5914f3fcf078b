/**
 * `run --baseline REF [--baseline-runs K]`: which stored runs a new run is gated against.
 * A baseline that names nothing yet (`latest-passing`, or a tag no passing run carries) is
 * not an error: the first build of a nightly has none, records, and passes, saying so. A run
 * id that is not stored is the user's mistake (exit 2).
 */
import { InputError, type RunRecord } from '../core/index.js';
import type { StoredRuns } from './ports.js';

/** How far back a tag or `latest-passing` is looked for. */
const RUNS_SEARCHED = 10_000;

/** What `newRunId` makes (`20261205-034401-304ec1`): a ref of this shape means a run, never a tag. */
const GENERATED_RUN_ID = /^\d{8}-\d{6}-[0-9a-f]{6}$/;

export interface BaselineQuery {
  /** A run id, `latest-passing`, or a tag. */
  ref: string;
  /** Pool the newest K passing runs the ref names (a tag or `latest-passing`). @default 1 */
  runs?: number;
  /** A history (`--gate changepoint`): every run up to `runs`, no run id, no note on fewer. */
  history?: boolean;
  matrixName: string;
  /** The state folder as the user gave it: messages name it. */
  state: string;
  /** The new run's own tags: a tag it lacks will never find it later, which a note says. */
  tags?: readonly string[];
}

export type Baseline =
  | {
      kind: 'runs';
      /** Newest first. */
      runIds: string[];
      records: RunRecord[];
      /** The comparison's group name: the run id, or `last K 'tag' runs` where several are pooled. */
      label: string;
      /** What was found, in words (`3 passing runs of 'nightly' tagged 'nightly'`). */
      describe: string;
      /** Less found than asked, said but not an error. */
      notes: string[];
    }
  | { kind: 'none'; note: string };

export async function resolveBaseline(stored: StoredRuns | undefined, q: BaselineQuery): Promise<Baseline> {
  const k = q.runs ?? 1;
  const byId = stored ? await stored.getRun(q.ref) : undefined;
  if (byId || GENERATED_RUN_ID.test(q.ref)) {
    if (q.history)
      throw new InputError(
        `--baseline '${q.ref}' is a run: --gate changepoint reads a history, so give a tag or latest-passing`,
      );
    if (k > 1)
      throw new InputError(
        `--baseline-runs ${k} pools the newest runs of a tag or of latest-passing, not a run id ('${q.ref}')`,
      );
    if (!byId)
      throw new InputError(
        stored
          ? `--baseline '${q.ref}': no run with that id in '${q.state}'`
          : `--baseline '${q.ref}': no benchyard store in '${q.state}'`,
      );
    return {
      kind: 'runs',
      runIds: [q.ref],
      records: [byId],
      label: q.ref,
      describe: `run ${q.ref}`,
      notes: [],
    };
  }
  const tag = q.ref === 'latest-passing' ? undefined : q.ref;
  const what = `passing run${k === 1 ? '' : 's'} of '${q.matrixName}'${tag === undefined ? '' : ` tagged '${tag}'`}`;
  const found = stored
    ? (await stored.listRuns(RUNS_SEARCHED)).filter((r) => matches(r, q.matrixName, tag))
    : [];
  const pooled = found.slice(0, k);
  if (pooled.length === 0) {
    const later =
      tag !== undefined && !(q.tags ?? []).includes(tag)
        ? ` (this run is not tagged '${tag}': add --tag ${tag} so that later runs find it)`
        : '; later runs are gated against it';
    return {
      kind: 'none',
      note: `no baseline yet: no ${what.replace(/^passing runs/, 'passing run')} in '${q.state}'. This run is recorded and passes the gate${later}`,
    };
  }
  const notes =
    pooled.length < k && !q.history
      ? [`only ${pooled.length} of the ${k} ${what} asked for: pooled ${pooled.length}`]
      : [];
  const ids = pooled.map((r) => r.id);
  const label =
    ids.length === 1 ? ids[0]! : `last ${ids.length} ${tag === undefined ? 'passing' : `'${tag}'`} runs`;
  const describe =
    ids.length === 1
      ? `${ids[0]}, the newest ${what.replace(/^passing runs/, 'passing run')}`
      : `the newest ${ids.length} ${what} (${ids.length <= 5 ? ids.join(', ') : `${ids.at(-1)} … ${ids[0]}`})`;
  return { kind: 'runs', runIds: ids, records: pooled, label, describe, notes };
}

function matches(r: RunRecord, matrixName: string, tag: string | undefined): boolean {
  return (
    r.status === 'passed' && r.name === matrixName && (tag === undefined || (r.tags ?? []).includes(tag))
  );
}

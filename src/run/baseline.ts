/** `run --baseline REF`: which stored run a new run is gated against. */
import { InputError } from '../core/index.js';
import type { StoredRuns } from './ports.js';

/** How far back a tag or `latest-passing` is looked for. */
const RUNS_SEARCHED = 10_000;

/**
 * A stored run id; `latest-passing`: the latest passing run of the same matrix name; else a
 * tag: the latest passing run of the same matrix name with that tag. `runs` is undefined
 * where the state folder holds no store; `state` is the folder as the user gave it.
 */
export async function resolveBaseline(
  runs: StoredRuns | undefined,
  ref: string,
  matrixName: string,
  state: string,
): Promise<string> {
  if (!runs) throw new InputError(`--baseline: no benchyard store in '${state}'`);
  if (await runs.getRun(ref)) return ref;
  const tag = ref === 'latest-passing' ? undefined : ref;
  const run = (await runs.listRuns(RUNS_SEARCHED)).find(
    (r) => r.status === 'passed' && r.name === matrixName && (tag === undefined || r.tags?.includes(tag)),
  );
  if (!run)
    throw new InputError(
      tag === undefined
        ? `--baseline latest-passing: no passing run of '${matrixName}' in '${state}'`
        : `--baseline '${ref}': no run with that id, and no passing run of '${matrixName}' tagged '${ref}' in '${state}'`,
    );
  return run.id;
}

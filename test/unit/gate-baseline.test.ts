/**
 * Which stored runs a run is gated against (src/run/baseline.ts): a run id, `latest-passing`
 * or a tag, pooled over the newest K; a baseline that names nothing yet is a note, not an error.
 */
import { describe, expect, it } from 'vitest';
import { runRecord } from '../helpers/results.js';
import { InputError, type RunRecord } from '../../src/core/index.js';
import { resolveBaseline, type BaselineQuery, type StoredRuns } from '../../src/run/index.js';

const run = runRecord;

/** Stored runs, newest first as the stores list them. */
function stored(runs: RunRecord[]): StoredRuns {
  return {
    getRun: async (id) => runs.find((r) => r.id === id),
    listRuns: async (limit = 50) => runs.slice(0, limit),
    listResults: async () => [],
    close: async () => {},
  };
}

const runs = [
  run({ id: 'r5', tags: ['nightly'] }),
  run({ id: 'r4', status: 'failed', tags: ['release-2', 'nightly'] }),
  run({ id: 'r3', name: 'other', tags: ['release-2', 'nightly'] }),
  run({ id: 'r2', tags: ['release-1', 'nightly'] }),
  run({ id: 'r1', tags: ['release-1', 'release-2'] }),
];
const q = (ref: string, over: Partial<BaselineQuery> = {}): BaselineQuery => ({
  ref,
  matrixName: 'nightly',
  state: '.s',
  tags: ['nightly'],
  ...over,
});

describe('resolveBaseline', () => {
  it('a stored run id is the baseline, whatever its status or matrix', async () => {
    expect(await resolveBaseline(stored(runs), q('r4'))).toMatchObject({
      kind: 'runs',
      runIds: ['r4'],
      label: 'r4',
    });
    expect(await resolveBaseline(stored(runs), q('r3'))).toMatchObject({ runIds: ['r3'] });
  });

  it('latest-passing and a tag: the newest passing run of the same matrix (failed or foreign ones passed over)', async () => {
    expect(await resolveBaseline(stored(runs), q('latest-passing'))).toMatchObject({
      runIds: ['r5'],
      label: 'r5',
      notes: [],
    });
    expect(await resolveBaseline(stored(runs), q('release-2'))).toMatchObject({ runIds: ['r1'] });
    const one = await resolveBaseline(stored(runs), q('release-1'));
    expect(one).toMatchObject({
      runIds: ['r2'],
      describe: "r2, the newest passing run of 'nightly' tagged 'release-1'",
    });
  });

  it('--baseline-runs K pools the newest K passing runs it names, under one label', async () => {
    const pooled = await resolveBaseline(stored(runs), q('nightly', { runs: 2 }));
    expect(pooled).toEqual({
      kind: 'runs',
      runIds: ['r5', 'r2'],
      records: [runs[0], runs[3]],
      label: "last 2 'nightly' runs",
      describe: "the newest 2 passing runs of 'nightly' tagged 'nightly' (r5, r2)",
      notes: [],
    });
    const all = await resolveBaseline(stored(runs), q('latest-passing', { runs: 5 }));
    expect(all).toMatchObject({
      runIds: ['r5', 'r2', 'r1'],
      label: 'last 3 passing runs',
      notes: ["only 3 of the 5 passing runs of 'nightly' asked for: pooled 3"],
    });
  });

  it('a baseline that names nothing yet: a note, and the run passes (the first build of a nightly)', async () => {
    expect(await resolveBaseline(stored([]), q('latest-passing'))).toEqual({
      kind: 'none',
      note: "no baseline yet: no passing run of 'nightly' in '.s'. This run is recorded and passes the gate; later runs are gated against it",
    });
    // No store at all (an empty state folder): the same.
    expect(await resolveBaseline(undefined, q('nightly', { runs: 5 }))).toMatchObject({ kind: 'none' });
    // A tag the run itself lacks: later runs would not find it either, which the note says.
    const untagged = await resolveBaseline(stored(runs), q('release-9', { tags: [] }));
    expect(untagged).toEqual({
      kind: 'none',
      note: "no baseline yet: no passing run of 'nightly' tagged 'release-9' in '.s'. This run is recorded and passes the gate (this run is not tagged 'release-9': add --tag release-9 so that later runs find it)",
    });
  });

  it('a run id that is not stored stays an input error (exit 2); so does pooling or a history from one run', async () => {
    await expect(resolveBaseline(stored(runs), q('20261205-034401-304ec1'))).rejects.toThrow(
      new InputError("--baseline '20261205-034401-304ec1': no run with that id in '.s'"),
    );
    await expect(resolveBaseline(undefined, q('20261205-034401-304ec1'))).rejects.toThrow(
      "--baseline '20261205-034401-304ec1': no benchyard store in '.s'",
    );
    await expect(resolveBaseline(stored(runs), q('r2', { runs: 3 }))).rejects.toThrow(
      "--baseline-runs 3 pools the newest runs of a tag or of latest-passing, not a run id ('r2')",
    );
    await expect(resolveBaseline(stored(runs), q('r2', { history: true }))).rejects.toThrow(InputError);
    // A history takes what there is, without a note.
    expect(await resolveBaseline(stored(runs), q('nightly', { runs: 100, history: true }))).toMatchObject({
      runIds: ['r5', 'r2'],
      notes: [],
    });
  });
});

/**
 * The checks `run` makes before anything is acquired (src/run): a run id already taken,
 * the shard's part of the plan (the baseline: test/unit/gate-baseline.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { runRecord } from '../helpers/results.js';
import { InputError, type RepetitionResult, type RunRecord } from '../../src/core/index.js';
import { checkRunId, shardPart, type StoredRuns } from '../../src/run/index.js';
import { planText } from '../helpers/catalog.js';

const run = runRecord;

/** Stored runs, newest first as the stores list them; counts its closes. */
function stored(runs: RunRecord[], results: RepetitionResult[] = []): StoredRuns & { closed: number } {
  return {
    closed: 0,
    getRun: async (id) => runs.find((r) => r.id === id),
    listRuns: async (limit = 50) => runs.slice(0, limit),
    listResults: async (q) => results.filter((r) => r.runId === q.runId),
    async close() {
      this.closed++;
    },
  };
}

describe('checkRunId', () => {
  const sharded = run({ id: 'ci-7', shards: { total: 3, done: 1 } } as Partial<RunRecord> & { id: string });

  it('a free id passes, and every place opened is closed', async () => {
    const a = stored([run({ id: 'x' })]);
    const b = stored([]);
    await checkRunId(
      [
        { where: "'.s'", open: () => a },
        { where: 'http://es', open: () => b },
      ],
      'ci-7',
      undefined,
      'nightly',
    );
    expect([a.closed, b.closed]).toEqual([1, 1]);
  });

  it('a place with nothing stored yet is skipped', async () => {
    await expect(
      checkRunId([{ where: "'.s'", open: () => undefined }], 'x', undefined, 'n'),
    ).resolves.toBeUndefined();
  });

  it('a run that is not sharded never writes over a stored one', async () => {
    const s = stored([run({ id: 'ci-7' })]);
    await expect(
      checkRunId([{ where: "'.s'", open: () => s }], 'ci-7', undefined, 'nightly'),
    ).rejects.toThrow(new InputError("--run-id: run 'ci-7' exists in '.s'", { runId: 'ci-7' }));
    expect(s.closed).toBe(1);
  });

  it('a shard joins a sharded run of the same matrix and shard count, and nothing else', async () => {
    const place = (r: RunRecord) => [{ where: 'http://es', open: () => stored([r]) }];
    await expect(
      checkRunId(place(sharded), 'ci-7', { index: 2, total: 3 }, 'nightly'),
    ).resolves.toBeUndefined();
    await expect(
      checkRunId(place(run({ id: 'ci-7' })), 'ci-7', { index: 2, total: 3 }, 'nightly'),
    ).rejects.toThrow("--run-id: run 'ci-7' exists in http://es and is not sharded");
    await expect(checkRunId(place(sharded), 'ci-7', { index: 2, total: 4 }, 'nightly')).rejects.toThrow(
      "--run-id: run 'ci-7' in http://es is matrix 'nightly' in 3 shards; this is shard 2/4 of 'nightly'",
    );
    await expect(checkRunId(place(sharded), 'ci-7', { index: 1, total: 3 }, 'weekly')).rejects.toThrow(
      InputError,
    );
  });
});

describe('shardPart', () => {
  const MATRIX = `name: p
targets: [{ name: a, provider: local }]
benchmarks:
  - benchmark: sysbench-cpu
    params: { threads: [1, 2, 4] }
`;

  it('no shard: the whole plan, nothing said', async () => {
    const plan = await planText(MATRIX);
    expect(shardPart(plan, undefined)).toEqual({ plan, notices: [] });
  });

  it('a shard: its cells, and a line saying which part of how many', async () => {
    const plan = await planText(MATRIX);
    const { plan: part, notices } = shardPart(plan, { index: 2, total: 2 });
    expect(part.cells.map((c) => c.id)).toEqual([plan.cells[1]!.id]);
    expect(part.shard).toEqual({ index: 2, total: 2 });
    expect(notices).toEqual(['shard 2/2: 1 of 3 cells']);
  });

  it('an empty shard says its empty part is still recorded', async () => {
    const plan = await planText(MATRIX);
    const { plan: part, notices } = shardPart(plan, { index: 5, total: 5 });
    expect(part.cells).toEqual([]);
    expect(notices[1]).toMatch(/shard 5\/5 has no cells \(the matrix has 3\); its empty part is recorded/);
  });
});

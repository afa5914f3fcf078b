import { describe, expect, it } from 'vitest';
import { compare, regressions } from '../../src/analysis/index.js';
import {
  InputError,
  plannedRepetitions,
  type RepetitionResult,
  type RunRecord,
  type RunStatus,
} from '../../src/core/index.js';
import { parseShard, shardPlan } from '../../src/plan/index.js';
import { mergeShards, type ShardPart } from '../../src/store/run-shards.js';
import { parseRunAs } from '../../src/cli/run-id.js';
import { planText } from '../helpers/catalog.js';
import { repetitionResult } from '../helpers/results.js';

const plan = planText;

// 3 threads × 2 times × 2 targets + 1 fio cell = 13 cells, with different repetitions.
const MATRIX = `name: p
repetitions: 2
targets: [{ name: a, provider: local }, { name: b, provider: local }]
benchmarks:
  - benchmark: sysbench-cpu
    params: { threads: [1, 2, 4], time: [5, 10] }
  - benchmark: fio
    targets: [b]
    repetitions: 5
    warmup: 1
`;

describe('parseShard', () => {
  it.each([
    ['1/1', { index: 1, total: 1 }],
    ['2/3', { index: 2, total: 3 }],
    [' 3 / 3 ', { index: 3, total: 3 }],
    ['1000/1000', { index: 1000, total: 1000 }],
  ])('%j → %j', (text, shard) => expect(parseShard(text)).toEqual(shard));

  it.each([
    ['0/2', /the shard must be 1 to 2/],
    ['3/2', /the shard must be 1 to 2/],
    ['1/0', /number of shards must be 1 to 1000/],
    ['1/1001', /number of shards must be 1 to 1000/],
    ['2', /expected i\/n/],
    ['a/b', /expected i\/n/],
    ['1/2/3', /expected i\/n/],
    ['-1/2', /expected i\/n/],
    ['1.5/2', /expected i\/n/],
  ])('%j is an InputError', (text, message) => {
    expect(() => parseShard(text)).toThrow(InputError);
    expect(() => parseShard(text)).toThrow(message);
  });
});

describe('shardPlan', () => {
  it('puts every cell in exactly one shard, round-robin in plan order, balanced', async () => {
    const whole = await plan(MATRIX);
    expect(whole.cells).toHaveLength(13);
    for (const total of [1, 2, 3, 5, 13, 20]) {
      const parts = Array.from({ length: total }, (_, i) => shardPlan(whole, { index: i + 1, total }));
      const ids = parts.flatMap((p) => p.cells.map((c) => c.id));
      expect(ids.sort()).toEqual(whole.cells.map((c) => c.id).sort());
      expect(new Set(ids).size).toBe(whole.cells.length);
      const sizes = parts.map((p) => p.cells.length);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      parts.forEach((p, i) => {
        expect(p.shard).toEqual({ index: i + 1, total });
        // Cell k belongs to shard k mod n + 1 and keeps its place in the matrix.
        expect(p.cells.map((c) => c.index)).toEqual(
          whole.cells.map((c) => c.index).filter((k) => k % total === i),
        );
        expect(p.repetitions).toBe(p.cells.reduce((n, c) => n + plannedRepetitions(c), 0));
      });
      expect(parts.reduce((n, p) => n + p.repetitions, 0)).toBe(whole.repetitions);
    }
  });

  it('assigns the same cells when the matrix is planned again', async () => {
    const [a, b] = [await plan(MATRIX), await plan(MATRIX)];
    for (const index of [1, 2, 3])
      expect(shardPlan(a, { index, total: 3 }).cells.map((c) => c.id)).toEqual(
        shardPlan(b, { index, total: 3 }).cells.map((c) => c.id),
      );
  });

  it('gives shards beyond the number of cells no cell', async () => {
    const whole = await plan(MATRIX);
    const last = shardPlan(whole, { index: 20, total: 20 });
    expect(last.cells).toEqual([]);
    expect(last.repetitions).toBe(0);
  });
});

describe('parseRunAs', () => {
  it('needs --run-id with --shard, and a run id made of safe characters', () => {
    expect(parseRunAs({})).toEqual({});
    expect(parseRunAs({ runId: 'jenkins-bench-42' })).toEqual({ runId: 'jenkins-bench-42' });
    expect(parseRunAs({ runId: 'b.1_x', shard: '2/3' })).toEqual({
      runId: 'b.1_x',
      shard: { index: 2, total: 3 },
    });
    expect(() => parseRunAs({ shard: '1/2' })).toThrow(/--shard 1\/2 needs --run-id/);
    for (const bad of ['', '-x', 'a b', 'a#1', 'a/b', 'x'.repeat(129)])
      expect(() => parseRunAs({ runId: bad })).toThrow(InputError);
    expect(parseRunAs({ runId: 'x'.repeat(128) }).runId).toHaveLength(128);
  });
});

describe('mergeShards', () => {
  const part = (index: number, status: RunStatus, over: Partial<RunRecord> = {}): ShardPart => ({
    id: 'r',
    name: 'm',
    matrixPath: `/agent${index}/m.yaml`,
    status,
    startedAt: `2026-01-01T00:00:0${index}.000Z`,
    ...(status !== 'running' ? { finishedAt: `2026-01-01T00:01:0${index}.000Z` } : {}),
    cells: 2,
    repetitions: 4,
    passed: status === 'running' ? 0 : 4,
    failed: 0,
    shard: { index, total: 3 },
    ...over,
  });

  it('is running until every shard finished, then the worst status; counts add up', () => {
    const running = mergeShards([part(2, 'passed'), part(1, 'running'), part(3, 'failed', { failed: 1 })]);
    expect(running).toEqual({
      id: 'r',
      name: 'm',
      matrixPath: '/agent1/m.yaml',
      status: 'running',
      startedAt: '2026-01-01T00:00:01.000Z',
      cells: 6,
      repetitions: 12,
      passed: 8,
      failed: 1,
      shards: { total: 3, done: 2 },
    });
    const done = mergeShards([part(1, 'passed'), part(2, 'passed'), part(3, 'failed', { failed: 1 })]);
    expect(done).toMatchObject({
      status: 'failed',
      finishedAt: '2026-01-01T00:01:03.000Z',
      shards: { total: 3, done: 3 },
    });
  });

  it.each([
    [['passed', 'passed', 'passed'], 'passed'],
    [['passed', 'cancelled', 'passed'], 'cancelled'],
    [['cancelled', 'failed', 'passed'], 'failed'],
    [['failed', 'error', 'cancelled'], 'error'],
  ] as [RunStatus[], RunStatus][])('%j → %s', (statuses, status) =>
    expect(mergeShards(statuses.map((s, i) => part(i + 1, s))).status).toBe(status),
  );
});

describe('gating one shard against a whole baseline run', () => {
  const result = (runId: string, threads: number, repetition: number, value: number): RepetitionResult =>
    repetitionResult({
      runId,
      cellId: `cell-${threads}`,
      repetition,
      benchmark: 'sysbench-cpu',
      params: { threads },
      scores: [{ name: 'events_per_second', value, unit: 'events/s', direction: 'higher' }],
      startedAt: `2026-01-01T00:00:${String(threads * 5 + repetition).padStart(2, '0')}.000Z`,
      finishedAt: `2026-01-01T00:00:${String(threads * 5 + repetition).padStart(2, '0')}.500Z`,
      durationMs: 500,
      artifacts: [],
    });
  const reps = [1, 2, 3, 4, 5];

  it("counts only the shard's cells: cells without a contender are no regression", () => {
    // The baseline ran all 4 cells; this shard ran 2 of them, one 50 % slower.
    const baseline = [1, 2, 4, 8].flatMap((t) => reps.map((r) => result('base', t, r, 1000 * t + r)));
    const shard = [
      ...reps.map((r) => result('shard', 1, r, 1000 + r)),
      ...reps.map((r) => result('shard', 4, r, 2000 + r)),
    ];
    const c = compare([...baseline, ...shard], { by: 'run', baseline: 'base' });
    expect(c.rows).toHaveLength(4);
    const missing = c.rows.filter((row) => row.groups[1]!.n === 0);
    expect(missing.map((row) => row.cell).sort()).toEqual([
      'sysbench-cpu threads=2 @here',
      'sysbench-cpu threads=8 @here',
    ]);
    for (const row of missing) expect(row.groups[1]).not.toHaveProperty('verdict');
    expect(regressions(c, 5).map((r) => r.row.cell)).toEqual(['sysbench-cpu threads=4 @here']);
  });
});

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { afterAll, describe, expect, it } from 'vitest';
import { RESULTS_INDEX, RUNS_INDEX } from '../../src/store/index.js';
import { cli } from '../helpers/cli.js';
import { ES_URL, esClient } from '../helpers/services.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'by-shard-'));
const state = path.join(work, 'state');
const runId = `shard-e2e-${process.pid}-${Date.now()}`;
const es = esClient();

afterAll(async () => {
  // Run and result documents go (the test node has no delete-by-query); samples stay, as other tests' do.
  const found = await es.search({
    index: `${RUNS_INDEX},${RESULTS_INDEX}`,
    query: { prefix: { 'run.id': runId } },
    size: 1000,
    _source: false,
  });
  if (found.hits.hits.length > 0)
    await es.bulk({
      refresh: true,
      operations: found.hits.hits.map((h) => ({ delete: { _index: h._index, _id: h._id! } })),
    });
  await es.close();
});

// 4 cells of 1 s each, one repetition: shard 1/2 takes max_prime 1000, shard 2/2 max_prime 2000.
writeFileSync(
  path.join(work, 'm.yaml'),
  `name: shard-e2e-${process.pid}
repetitions: 1
targets: [{ name: here, provider: local }]
benchmarks:
  - benchmark: sysbench-cpu
    params: { threads: [1, 2], time: [1], max_prime: [1000, 2000] }
`,
);

const junitCases = (file: string): string[] => {
  const xml = new XMLParser({ ignoreAttributes: false }).parse(readFileSync(file, 'utf8'));
  const cases = xml.testsuites.testsuite.testcase;
  return (Array.isArray(cases) ? cases : [cases]).map((t: { '@_name': string }) => t['@_name']);
};

describe('benchyard run --shard i/n --run-id ID', () => {
  it('two agents run their halves at once into one run, the same in SQLite and Elasticsearch', async () => {
    const shard = (i: number) =>
      cli(
        [
          'run',
          'm.yaml',
          '--state',
          state,
          '--es',
          ES_URL,
          '--shard',
          `${i}/2`,
          '--run-id',
          runId,
          '--junit',
          `shard-${i}.xml`,
        ],
        { cwd: work },
      );
    const [one, two] = await Promise.all([shard(1), shard(2)]);
    expect(one.code, one.stderr).toBe(0);
    expect(two.code, two.stderr).toBe(0);
    expect(one.stderr).toMatch(/^shard 1\/2: 2 of 4 cells$/m);
    expect(two.stderr).toMatch(/^shard 2\/2: 2 of 4 cells$/m);
    // Each agent's JUnit file has its own cells.
    expect(junitCases(path.join(work, 'shard-1.xml'))).toHaveLength(2);
    expect(junitCases(path.join(work, 'shard-2.xml'))).toHaveLength(2);
    expect(junitCases(path.join(work, 'shard-1.xml')).join()).toMatch(/max_prime=1000.*max_prime=1000/);

    const args = ['compare', '--by', 'param:max_prime', '--run', runId, '--format', 'csv'];
    const [stored, fromSqlite, fromEs] = await Promise.all([
      cli(['results', '--state', state, '--run', runId, '--json'], { cwd: work }),
      cli([...args, '--state', state], { cwd: work }),
      cli([...args, '--es', ES_URL], { cwd: work }),
    ]);
    expect(stored.code, stored.stderr).toBe(0);
    const { run, results } = JSON.parse(stored.stdout);
    expect(run).toMatchObject({
      id: runId,
      status: 'passed',
      cells: 4,
      repetitions: 4,
      passed: 4,
      failed: 0,
      shards: { total: 2, done: 2 },
    });
    expect(new Set(results.map((r: { cellId: string }) => r.cellId)).size).toBe(4);
    expect(results.map((r: { params: { max_prime: number } }) => r.params.max_prime).sort()).toEqual([
      1000, 1000, 2000, 2000,
    ]);

    expect(fromSqlite.code, fromSqlite.stderr).toBe(0);
    expect(fromEs.code, fromEs.stderr).toBe(0);
    expect(fromEs.stdout).toBe(fromSqlite.stdout);
    expect(fromSqlite.stdout.trim().split('\n')).toHaveLength(1 + 2 * 3 * 2); // 2 cells × 3 scores × 2 groups
  });

  it('gates a shard against the latest passing run on its own cells only', async () => {
    // The other shard's cells have no contender: they are neither regressions nor failures.
    const gated = await cli(
      [
        'run',
        'm.yaml',
        '--state',
        state,
        '--shard',
        '2/2',
        '--run-id',
        `${runId}-next`,
        '--baseline',
        'latest-passing',
      ],
      { cwd: work },
    );
    expect(gated.code, gated.stderr).toBe(0);
    expect(gated.stderr).toContain(`gate: ${runId}-next against ${runId}, max regression 5%`);
  });

  it('rejects a shard out of range, a shard without a run id and a run id that exists (exit 2)', async () => {
    const run = (...args: string[]) => cli(['run', 'm.yaml', '--state', state, ...args], { cwd: work });
    const [outOfRange, noId, taken, otherTotal] = await Promise.all([
      run('--shard', '3/2', '--run-id', 'x'),
      run('--shard', '1/2'),
      run('--run-id', runId),
      run('--shard', '1/3', '--run-id', runId),
    ]);
    expect(outOfRange.code).toBe(2);
    expect(outOfRange.stderr).toMatch(/--shard '3\/2': the shard must be 1 to 2/);
    expect(noId.code).toBe(2);
    expect(noId.stderr).toMatch(/--shard 1\/2 needs --run-id/);
    expect(taken.code).toBe(2);
    expect(taken.stderr).toContain(`run '${runId}' exists`);
    expect(otherTotal.code).toBe(2);
    expect(otherTotal.stderr).toMatch(/in 2 shards; this is shard 1\/3/);
  });

  it('records the empty part of a shard that has no cell, so the run completes', async () => {
    const id = `${runId}-wide`;
    const empty = await cli(['run', 'm.yaml', '--state', state, '--shard', '5/5', '--run-id', id], {
      cwd: work,
    });
    expect(empty.code, empty.stderr).toBe(0);
    expect(empty.stderr).toMatch(/shard 5\/5: 0 of 4 cells/);
    expect(empty.stderr).toMatch(/note: shard 5\/5 has no cells/);
    const stored = JSON.parse((await cli(['results', '--state', state, '--run', id, '--json'])).stdout);
    expect(stored.run).toMatchObject({ status: 'running', cells: 0, shards: { total: 5, done: 1 } });
  });

  it('records an error part for a shard that fails before it starts, so the run ends as error', async () => {
    // Every cell needs a GPU this machine does not have: placement leaves nothing (exit 3).
    writeFileSync(
      path.join(work, 'gpu.yaml'),
      readFileSync(path.join(work, 'm.yaml'), 'utf8')
        .replace(/^name: .*$/m, `name: shard-gpu-${process.pid}`)
        .replace(
          '  - benchmark: sysbench-cpu\n',
          '  - benchmark: sysbench-cpu\n    requires: { gpu: true }\n',
        ),
    );
    const id = `${runId}-nogpu`;
    for (const shard of ['1/2', '2/2']) {
      const r = await cli(['run', 'gpu.yaml', '--state', state, '--shard', shard, '--run-id', id], {
        cwd: work,
      });
      expect(r.code, r.stderr).toBe(3);
    }
    const stored = JSON.parse((await cli(['results', '--state', state, '--run', id, '--json'])).stdout);
    expect(stored.run).toMatchObject({ status: 'error', passed: 0, shards: { total: 2, done: 2 } });
  });
});

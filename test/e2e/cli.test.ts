import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RESULTS_INDEX } from '../../src/store/index.js';
import { cli } from '../helpers/cli.js';
import { ROOT } from '../helpers/catalog.js';
import { docker, ES_URL, esClient, managedContainers, waitForCount } from '../helpers/services.js';

const es = esClient();
afterAll(() => es.close());
const work = mkdtempSync(path.join(os.tmpdir(), 'by-e2e-'));
const matrix = (name: string, text: string) => {
  const file = path.join(work, `${name}.yaml`);
  writeFileSync(file, text);
  return file;
};

describe('benchyard CLI, as a user runs it', () => {
  it('plan --json expands the example matrix without side effects', async () => {
    const res = await cli(['plan', path.join(ROOT, 'examples/local.yaml'), '--json'], { cwd: work });
    expect(res.code).toBe(0);
    const plan = JSON.parse(res.stdout);
    expect(plan.cells.map((c: { benchmark: string }) => c.benchmark)).toEqual([
      'sysbench-cpu',
      'sysbench-cpu',
      'sysbench-memory',
      'fio',
    ]);
    expect(plan.repetitions).toBe(12);
    const table = await cli(['plan', path.join(ROOT, 'examples/local.yaml')], { cwd: work });
    expect(table.stdout).toMatch(/local-cpu: 4 cells, 12 repetitions/);
  });

  it('run → results: a passing matrix lands in SQLite and Elasticsearch; JSON and plain output', async () => {
    const file = matrix(
      'ok',
      `name: e2e-ok
repetitions: 2
targets: [{ name: here, provider: local }]
benchmarks:
  - benchmark: sysbench-cpu
    params: { threads: [1, 2], time: 1 }
store:
  elasticsearch: { url: ${ES_URL} }
`,
    );
    const session = `e2e-${process.pid}-${Date.now()}`;
    const since = Math.floor(Date.now() / 1000) - 1;
    const res = await cli(['run', file, '--json'], { cwd: work, env: { BENCHYARD_SESSION: session } });
    expect(res.code, res.stderr).toBe(0);
    const out = JSON.parse(res.stdout);
    expect(out.run).toMatchObject({ status: 'passed', cells: 2, repetitions: 4, passed: 4, failed: 0 });
    expect(out.cells.map((c: { passed: number }) => c.passed)).toEqual([2, 2]);
    // Plain progress lines (CI=true): one per repetition, with the scores.
    expect(res.stderr.match(/^\[\d\/4\] sysbench-cpu .* passed .* events_per_second=/gm)).toHaveLength(4);

    const results = await cli(['results', '--json'], { cwd: work });
    expect(results.code).toBe(0);
    const stored = JSON.parse(results.stdout);
    expect(stored.run.id).toBe(out.run.id);
    // Stored in cell order; the run's own list is in the order they ran (interleaved).
    const byCellRep = (
      a: { cellId: string; repetition: number },
      b: { cellId: string; repetition: number },
    ) => a.cellId.localeCompare(b.cellId) || a.repetition - b.repetition;
    expect([...stored.results].sort(byCellRep)).toEqual([...out.results].sort(byCellRep));
    const table = await cli(['results', '--run', out.run.id], { cwd: work, env: { COLUMNS: '' } });
    expect(table.stdout).toMatch(new RegExp(`run ${out.run.id} \\(e2e-ok\\): passed, 4 passed`));
    // One row per repetition with the machine that ran it; fitted to the default width of logs.
    expect(table.stdout.match(/│ here\/\S+ +│ sysbench-cpu /g)).toHaveLength(4);
    for (const line of table.stdout.split('\n').slice(1)) expect([...line].length).toBeLessThanOrEqual(120);
    const narrow = await cli(['results', '--cell', out.results[0].cellId, '--wide'], {
      cwd: work,
      env: { COLUMNS: '60' },
    });
    expect(narrow.stdout.match(/│ here\/\S+ +│ sysbench-cpu /g)).toHaveLength(2);
    expect(narrow.stdout.split('\n').some((l) => [...l].length > 60)).toBe(true);

    expect(await waitForCount(es, RESULTS_INDEX, { term: { 'run.id': out.run.id } }, 4)).toBe(4);
    expect(await managedContainers(docker(), out.run.id)).toEqual([]);
    // Every container carried the session label (the malformed-matrix test and gc rely on it).
    const events = await docker().getEvents({
      since,
      until: Math.ceil(Date.now() / 1000) + 1,
      filters: { type: ['container'], event: ['create'], label: [`io.benchyard.session=${session}`] },
    });
    const chunks: Buffer[] = [];
    for await (const chunk of events as AsyncIterable<Buffer>) chunks.push(chunk);
    const created = Buffer.concat(chunks).toString().split('\n').filter(Boolean).length;
    // The 4 repetitions, the machine's hardware fingerprint probe and the machine's lease.
    expect(created).toBe(6);
  });

  it('a failing benchmark exits 1, keeps the reason, and still stores every repetition', async () => {
    const file = matrix(
      'fail',
      `name: e2e-fail
repetitions: 1
targets: [{ name: here, provider: local }]
benchmarks:
  - benchmark: sysbench-memory
    params: { block_size: '0', time: 1 }
  - benchmark: sysbench-cpu
    params: { time: 1 }
`,
    );
    const state = path.join(work, 'fail-state');
    const res = await cli(['run', file, '--state', state], { cwd: work });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/BENCHMARK_FAILED: exited with code 1/);
    expect(res.stderr).toMatch(/error: 1 of 2 repetitions failed/);
    expect(res.stdout).toMatch(/failed, 1 passed, 1 failed of 2 repetitions/);
    const stored = JSON.parse((await cli(['results', '--json', '--state', state], { cwd: work })).stdout);
    expect(stored.results.map((r: { status: string }) => r.status)).toEqual(['failed', 'passed']);
  });

  it('an unreachable Elasticsearch is an infrastructure failure (exit 3) before anything runs', async () => {
    const file = matrix(
      'es-down',
      'name: e\ntargets: [{name: h, provider: local}]\nbenchmarks: [{benchmark: sysbench-cpu, params: {time: 1}}]\n',
    );
    const res = await cli(
      ['run', file, '--es', 'http://127.0.0.1:9', '--state', path.join(work, 'es-down')],
      { cwd: work },
    );
    expect(res.code).toBe(3);
    expect(res.stderr).toMatch(/error: Elasticsearch at http:\/\/127\.0\.0\.1:9/);
  });

  it('results without a store is bad input; schema prints the JSON Schema', async () => {
    const none = await cli(['results', '--state', path.join(work, 'nothing-here')], { cwd: work });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no benchyard store in/);
    const schema = await cli(['schema']);
    expect(schema.code).toBe(0);
    const json = JSON.parse(schema.stdout);
    expect(json.required).toEqual(expect.arrayContaining(['name', 'targets', 'benchmarks']));
    // One shape per provider, told apart by `provider`, so editors complete each one's options.
    const shapes = json.properties.targets.items.oneOf as { properties: { provider: { const: string } } }[];
    expect(shapes.map((t) => t.properties.provider.const)).toEqual([
      'local',
      'ssh',
      'aws',
      'softlayer',
      'slurm',
      'kubernetes',
    ]);
  });
});

import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CancelledError,
  InfrastructureError,
  NO_REQUIREMENTS,
  silentLogger,
  type BenchmarkDefinition,
  type MetricSample,
} from '../../src/core/index.js';
import { MapCatalog, validateMatrix, YamlSource } from '../../src/config/index.js';
import { planMatrix } from '../../src/plan/index.js';
import { newRunId, Scheduler, type RunEvent } from '../../src/schedule/index.js';
import {
  ArtifactDir,
  CONTAINER_METRICS_STREAM,
  ElasticsearchReader,
  ElasticsearchStore,
  FanoutStore,
  MACHINES_INDEX,
  RESULTS_INDEX,
  SqliteStore,
} from '../../src/store/index.js';
import { LocalProvider } from '../../providers/local/index.js';
import { builtinCatalog } from '../helpers/catalog.js';
import {
  BENCH_IMAGE,
  docker,
  ES_URL,
  esClient,
  managedContainers,
  waitForCount,
} from '../helpers/services.js';

const es = esClient();
afterAll(() => es.close());

/** A benchmark whose output never has the declared score. */
const chatty: BenchmarkDefinition = {
  name: 'chatty',
  version: 1,
  description: '',
  image: BENCH_IMAGE,
  command: ['echo', 'hello {{word}}'],
  params: { word: { type: 'string', default: 'world' } },
  network: 'none',
  requires: NO_REQUIREMENTS,
  timeoutMs: 60_000,
  source: 'test',
  artifacts: [],
  scores: [{ name: 'speed', unit: 'x/s', direction: 'higher', from: 'stdout', regex: 'speed: ([0-9]+)' }],
};

async function setup(matrixYaml: string) {
  const catalog = new MapCatalog([...(await builtinCatalog()).list(), chatty]);
  const plan = planMatrix(validateMatrix(YamlSource.parse('m.yaml', matrixYaml), catalog), catalog);
  const state = mkdtempSync(path.join(os.tmpdir(), 'by-sched-'));
  const sqlite = new SqliteStore(state);
  const store = new FanoutStore(sqlite, [await ElasticsearchStore.connect({ url: ES_URL })], silentLogger);
  const events: RunEvent[] = [];
  const scheduler = new Scheduler({
    providers: new Map([['local', new LocalProvider()]]),
    store,
    artifacts: new ArtifactDir(os.tmpdir()),
    logger: silentLogger,
    onEvent: (e) => events.push(e),
  });
  return { plan, state, store, events, scheduler, reader: () => new SqliteStore(state) };
}

describe('Scheduler: a matrix on the real engine, into SQLite and Elasticsearch', () => {
  it('runs every repetition, classifies failures, and lands results and samples in both stores', async () => {
    const { plan, store, scheduler, reader, events } = await setup(`name: sched
repetitions: 2
concurrency: 2
metrics: { interval: 200ms }
targets: [{ name: here, provider: local }]
benchmarks:
  - benchmark: sysbench-cpu
    params: { threads: [1, 2], time: 1 }
  - benchmark: sysbench-memory
    params: { time: 1, block_size: '0' }
    repetitions: 1
  - benchmark: chatty
    repetitions: 1
  - benchmark: sysbench-cpu
    name: too-slow
    params: { time: 20 }
    timeout: 1s
    repetitions: 1
`);
    const runId = newRunId(Date.now());
    const outcome = await scheduler.run(plan, { runId, signal: new AbortController().signal });
    await store.close();

    expect(outcome.run).toMatchObject({ status: 'failed', cells: 5, repetitions: 7, passed: 4, failed: 3 });
    const byClass: Record<string, typeof outcome.results> = {};
    for (const r of outcome.results) (byClass[r.failureClass ?? 'passed'] ??= []).push(r);
    expect(Object.fromEntries(Object.entries(byClass).map(([k, v]) => [k, v!.length]))).toEqual({
      passed: 4,
      BENCHMARK_FAILED: 1,
      PARSE_FAILED: 1,
      TIMEOUT: 1,
    });
    expect(byClass.BENCHMARK_FAILED![0]!.failureReason).toMatch(
      /exited with code 1; .*Invalid value for memory-block-size/,
    );
    expect(byClass.PARSE_FAILED![0]!.failureReason).toMatch(/score not found: speed .*"hello world"/);
    const passed = byClass.passed![0]!;
    expect(passed.scores.map((s) => s.name)).toEqual(['events_per_second', 'latency_avg', 'latency_p95']);
    expect(passed.imageDigest).toMatch(/^sha256:/);
    // Cells ran two at a time on 2 cores: the sampler must have seen real, bounded CPU use.
    // (Accuracy against a lone container is checked in container-metrics.test.ts.)
    const oneThread = outcome.results.find((r) => r.params.threads === 1 && r.status === 'passed')!;
    expect(oneThread.metrics.samples).toBeGreaterThanOrEqual(3);
    expect(oneThread.metrics.cpuCoresMean).toBeGreaterThan(0.2);
    expect(oneThread.metrics.cpuCoresMax).toBeLessThan(2.2);

    // Every result names the hardware it ran on; the machine is stored once, with its fingerprint.
    const fingerprint = outcome.results[0]!.fingerprint;
    expect(fingerprint).toMatch(/^[0-9a-f]{16}$/);
    for (const r of outcome.results) expect(r.fingerprint).toBe(fingerprint);

    const sqlite = reader();
    expect(await sqlite.listResults({ runId })).toHaveLength(7);
    expect((await sqlite.listResults({ runId })).map((r) => r.fingerprint)).toEqual(
      Array(7).fill(fingerprint),
    );
    const machines = await sqlite.listMachines({ runId });
    expect(machines).toHaveLength(1);
    expect(machines[0]).toMatchObject({
      runId,
      target: 'here',
      provider: 'local',
      machineId: outcome.results[0]!.machineId,
      fingerprint,
      hardware: { cpu: { model: expect.any(String) } },
    });
    const samples = await sqlite.listSamples({ runId });
    expect(samples.length).toBeGreaterThan(10);
    const names = new Set(samples.map((s) => s.name));
    for (const name of ['container.cpu.usage.cores', 'container.memory.usage.bytes', 'container.pids.count'])
      expect(names).toContain(name);
    expect(names).toContain('collector.cpu.seconds'); // self-monitoring, at least once when the run ends
    const containerSamples = samples.filter((s) => s.scope === 'container').length;
    await sqlite.close();

    expect(await waitForCount(es, RESULTS_INDEX, { term: { 'run.id': runId } }, 7)).toBe(7);
    const thisRun = { term: { 'run.id': runId } };
    const onThisHardware = { bool: { filter: [thisRun, { term: { 'host.fingerprint': fingerprint } }] } };
    expect(await waitForCount(es, RESULTS_INDEX, onThisHardware, 7)).toBe(7);
    const machine = machines[0]!;
    const cpuModel = (machine.hardware as { cpu: { model: string } }).cpu.model;
    await es.indices.refresh({ index: MACHINES_INDEX });
    const machineDoc = await es.get({ index: MACHINES_INDEX, id: `${runId}:${machine.machineId}` });
    expect(machineDoc._source).toMatchObject({
      '@timestamp': machine.collectedAt,
      run: { id: runId },
      target: { name: 'here' },
      provider: 'local',
      machine: { id: machine.machineId },
      host: { name: machine.hostname, fingerprint },
      hardware: { cpu: { model: cpuModel } },
    });
    // The CPU model is indexed: analysts filter machines on it.
    expect(
      await waitForCount(
        es,
        MACHINES_INDEX,
        { bool: { filter: [{ term: { 'run.id': runId } }, { term: { 'hardware.cpu.model': cpuModel } }] } },
        1,
      ),
    ).toBe(1);
    expect(
      await waitForCount(es, CONTAINER_METRICS_STREAM, { term: { 'run.id': runId } }, containerSamples),
    ).toBe(containerSamples);
    // Read back through the reader `report` and `serve` use: the same samples as SQLite has.
    const key = (x: MetricSample) =>
      [
        x.cellId,
        x.repetition,
        x.scope,
        x.name,
        x.containerId ?? '',
        x.device ?? '',
        x.seq,
        x.timestamp,
        x.value,
      ].join('|');
    const esReader = new ElasticsearchReader(ES_URL);
    const fromEs = await esReader.listSamples({ runId });
    const wanted = samples.filter((x) => x.scope === 'container');
    expect(
      fromEs
        .filter((x) => x.scope === 'container')
        .map(key)
        .sort(),
    ).toEqual(wanted.map(key).sort());
    const late = wanted[Math.floor(wanted.length / 2)]!.timestamp;
    const since = await esReader.listSamples({ runId, since: late }).finally(() => esReader.close());
    expect(since.length).toBeGreaterThan(0);
    expect(since.every((x) => x.timestamp >= late)).toBe(true);
    expect(await managedContainers(docker(), runId)).toEqual([]);
    expect(events.filter((e) => e.type === 'repetition-finished')).toHaveLength(7);
  });

  it('checks images before starting anything: a missing image is an infrastructure error and no run is recorded', async () => {
    const missing = { ...chatty, name: 'ghost', image: 'benchyard/ghost:404' };
    const catalog = new MapCatalog([missing]);
    const plan = planMatrix(
      validateMatrix(
        YamlSource.parse(
          'm.yaml',
          'name: g\ntargets: [{name: h, provider: local}]\nbenchmarks: [{benchmark: ghost}]\n',
        ),
        catalog,
      ),
      catalog,
    );
    const state = mkdtempSync(path.join(os.tmpdir(), 'by-sched-'));
    const store = new SqliteStore(state);
    const scheduler = new Scheduler({
      providers: new Map([['local', new LocalProvider()]]),
      store,
      artifacts: new ArtifactDir(os.tmpdir()),
      logger: silentLogger,
    });
    const err = await scheduler
      .run(plan, { runId: 'ghost-run', signal: new AbortController().signal })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InfrastructureError);
    expect(await store.listRuns()).toEqual([]);
    await store.close();
  });

  it('cancels: the running container is stopped and removed, the run is marked cancelled', async () => {
    const { plan, store, scheduler, reader } = await setup(
      'name: c\ntargets: [{name: h, provider: local}]\nbenchmarks: [{benchmark: sysbench-cpu, params: {time: 30}}]\n',
    );
    const ac = new AbortController();
    const runId = newRunId(Date.now());
    const pending = scheduler.run(plan, { runId, signal: ac.signal });
    setTimeout(() => ac.abort(), 1500);
    const err = await pending.catch((e: unknown) => e);
    await store.close();
    expect(err).toBeInstanceOf(CancelledError);
    const sqlite = reader();
    expect(await sqlite.getRun(runId)).toMatchObject({ status: 'cancelled' });
    expect((await sqlite.listResults({ runId })).map((r) => r.failureClass)).toEqual(['CANCELLED']);
    await sqlite.close();
    expect(await managedContainers(docker(), runId)).toEqual([]);
  });
});

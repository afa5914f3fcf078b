import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  InfrastructureError,
  type MachineRecord,
  type MetricSample,
  type RepetitionResult,
  type RunRecord,
} from '../../src/core/index.js';
import {
  CONTAINER_METRICS_STREAM,
  ElasticsearchReader,
  ElasticsearchStore,
  MACHINES_INDEX,
  RESULTS_INDEX,
  RUNS_INDEX,
  SqliteStore,
} from '../../src/store/index.js';
import { ES_URL, esClient, waitForCount } from '../helpers/services.js';

const runId = `store-test-${process.pid}-${Date.now()}`;
const run: RunRecord = {
  id: runId,
  name: 'store-test',
  matrixPath: '/m.yaml',
  status: 'running',
  startedAt: '2026-11-28T00:00:00.000Z',
  cells: 1,
  repetitions: 1,
  passed: 0,
  failed: 0,
};
const result: RepetitionResult = {
  runId,
  cellId: 'abc123abc123',
  repetition: 1,
  benchmark: 'sysbench-cpu',
  benchmarkVersion: 1,
  params: { threads: 2, mode: 'x', on: true },
  target: 'here',
  provider: 'local',
  machineId: 'local:vm',
  instanceType: 'local',
  fingerprint: '0123456789abcdef',
  image: 'benchyard/bench-tools:1',
  imageDigest: 'sha256:feed',
  containerId: 'c0ffee',
  status: 'failed',
  warmup: false,
  failureClass: 'TIMEOUT',
  failureReason: 'exceeded its timeout',
  scores: [{ name: 'events_per_second', value: 1234.5, unit: 'events/s', direction: 'higher' }],
  startedAt: '2026-11-28T00:00:01.000Z',
  finishedAt: '2026-11-28T00:00:03.000Z',
  durationMs: 2000,
  metrics: { samples: 2, cpuCoresMean: 0.9, cpuCoresMax: 1, memoryBytesMax: 4096 },
  artifacts: [{ path: '/out/r.json', location: '/state/artifacts/r.json', bytes: 12, truncated: false }],
};
const machine: MachineRecord = {
  runId,
  machineId: 'local:vm',
  target: 'here',
  provider: 'local',
  instanceType: 'local',
  region: 'lab',
  zone: 'rack-1',
  hostname: 'vm',
  fingerprint: '0123456789abcdef',
  collectedAt: '2026-11-28T00:00:00.500Z',
  hardware: {
    cpu: { vendor: 'GenuineIntel', model: 'Xeon Test', sockets: 1, cores: 2, threads: 4, flags: ['avx2'] },
    gpus: [{ index: 0, model: 'NVIDIA T4', source: 'nvidia-smi' }],
    problems: [],
  },
};
const samples: MetricSample[] = [0, 1, 2].map((seq) => ({
  runId,
  cellId: 'abc123abc123',
  repetition: 1,
  scope: 'container',
  name: 'container.cpu.usage.cores',
  unit: 'cores',
  value: 0.5 + seq / 10,
  timestamp: Date.parse('2026-11-28T00:00:01.000Z') + seq * 1000,
  seq,
  containerId: 'c0ffee',
  host: 'vm',
}));

describe('SqliteStore (real SQLite file)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'by-sqlite-'));
  it('round-trips runs, results, machines and samples, and stores a sample once', async () => {
    const store = new SqliteStore(dir);
    await store.startRun(run, []);
    await store.recordMachine({ ...machine, fingerprint: 'fedcba9876543210' });
    await store.recordMachine(machine); // recorded again: replaced
    await store.recordResult(result);
    store.write(samples);
    store.write(samples); // at-least-once delivery must not duplicate
    await store.finishRun({ ...run, status: 'failed', failed: 1, finishedAt: '2026-11-28T00:00:04.000Z' });
    await store.close();

    const again = new SqliteStore(dir);
    expect(await again.getRun(runId)).toMatchObject({
      status: 'failed',
      failed: 1,
      finishedAt: '2026-11-28T00:00:04.000Z',
    });
    expect(await again.listResults({ runId })).toEqual([result]);
    expect(await again.listMachines({ runId })).toEqual([machine]);
    expect((await again.listSamples({ runId })).map((s) => s.value)).toEqual([0.5, 0.6, 0.7]);
    await again.close();
  });
});

describe('ElasticsearchStore (real Elasticsearch node)', () => {
  const es = esClient();
  afterAll(() => es.close());

  it('installs its index templates with explicit mappings', async () => {
    const store = await ElasticsearchStore.connect({ url: ES_URL });
    await store.close();
    const { index_templates } = await es.indices.getIndexTemplate();
    const byName = Object.fromEntries(
      index_templates.filter((t) => t.name.includes('benchyard')).map((t) => [t.name, t.index_template]),
    );
    expect(Object.keys(byName).sort()).toEqual([
      'benchyard-events',
      'benchyard-machines',
      'benchyard-results',
      'benchyard-runs',
      'metrics-benchyard.collector',
      'metrics-benchyard.container',
      'metrics-benchyard.gpu',
      'metrics-benchyard.host',
    ]);
    expect(byName['benchyard-results']!.template?.mappings?.dynamic).toBe('strict');
    expect(byName['benchyard-machines']!.template?.mappings?.dynamic).toBe('strict');
    for (const scope of ['container', 'host', 'gpu', 'collector']) {
      const t = byName[`metrics-benchyard.${scope}`]!;
      expect(t.data_stream).toBeDefined();
      // Time-series mode; this test node lacks the data-streams module, so the window is explicit.
      expect(t.template?.settings?.index).toMatchObject({
        mode: 'time_series',
        routing_path: ['run.id', 'host.name', 'metric.name'],
        time_series: { start_time: '2000-01-01T00:00:00Z' },
      });
    }
  });

  it('writes runs, results, machines and samples with the documented fields; a re-sent batch stores nothing twice', async () => {
    const store = await ElasticsearchStore.connect({ url: ES_URL });
    await store.startRun(run, []);
    await store.recordMachine(machine);
    await store.recordMachine(machine); // same id: one document
    await store.recordResult(result);
    store.write(samples);
    await store.flush();
    store.write(samples); // retried batch: 409s count as stored
    await store.finishRun({ ...run, status: 'failed', failed: 1, finishedAt: '2026-11-28T00:00:04.000Z' });
    await store.close();

    expect(await waitForCount(es, CONTAINER_METRICS_STREAM, { term: { 'run.id': runId } }, 3)).toBe(3);
    await es.indices.refresh({ index: `${RESULTS_INDEX},${RUNS_INDEX}` });
    const doc = (await es.get({ index: RESULTS_INDEX, id: `${runId}:abc123abc123:1` }))._source as Record<
      string,
      unknown
    >;
    expect(doc).toMatchObject({
      run: { id: runId },
      cell: { id: 'abc123abc123' },
      repetition: 1,
      benchmark: { name: 'sysbench-cpu', version: 1 },
      params: { threads: '2', mode: 'x', on: 'true' },
      target: { name: 'here' },
      provider: 'local',
      status: 'failed',
      failure: { class: 'TIMEOUT', reason: 'exceeded its timeout' },
      host: { fingerprint: '0123456789abcdef' },
      container: { id: 'c0ffee', image: { name: 'benchyard/bench-tools:1', digest: 'sha256:feed' } },
      scores: [{ name: 'events_per_second', value: 1234.5, unit: 'events/s', direction: 'higher' }],
      artifacts: [{ path: '/out/r.json', location: '/state/artifacts/r.json', bytes: 12, truncated: false }],
      started_at: result.startedAt,
      finished_at: result.finishedAt,
      duration_ms: 2000,
    });
    const runDoc = (await es.get({ index: RUNS_INDEX, id: runId }))._source as Record<string, unknown>;
    expect(runDoc).toMatchObject({ run: { id: runId, status: 'failed' }, failed: 1 });

    // One machine document, with the whole fingerprint kept and its CPU and GPU models searchable.
    await es.indices.refresh({ index: MACHINES_INDEX });
    expect((await es.get({ index: MACHINES_INDEX, id: `${runId}:local:vm` }))._source).toEqual({
      '@timestamp': machine.collectedAt,
      run: { id: runId },
      target: { name: 'here' },
      provider: 'local',
      machine: { id: 'local:vm', instance_type: 'local' },
      cloud: { region: 'lab', availability_zone: 'rack-1' },
      host: { name: 'vm', fingerprint: '0123456789abcdef' },
      hardware: machine.hardware,
    });
    const byHardware = await es.search({
      index: MACHINES_INDEX,
      query: {
        bool: {
          filter: [
            { term: { 'run.id': runId } },
            { term: { 'hardware.cpu.model': 'Xeon Test' } },
            { term: { 'hardware.gpus.model': 'NVIDIA T4' } },
          ],
        },
      },
    });
    expect(byHardware.hits.hits.map((h) => h._id)).toEqual([`${runId}:local:vm`]);

    const reader = new ElasticsearchReader(ES_URL);
    expect((await reader.listResults({ runId })).map((r) => r.fingerprint)).toEqual(['0123456789abcdef']);
    await reader.close();

    // Scores are nested: one score's name and value match together.
    const hits = await es.search({
      index: RESULTS_INDEX,
      query: {
        bool: {
          filter: [
            { term: { 'run.id': runId } },
            {
              nested: {
                path: 'scores',
                query: {
                  bool: {
                    must: [
                      { term: { 'scores.name': 'events_per_second' } },
                      { range: { 'scores.value': { gt: 1000 } } },
                    ],
                  },
                },
              },
            },
          ],
        },
      },
    });
    expect(hits.hits.hits.map((h) => h._id)).toContain(`${runId}:abc123abc123:1`);
  });

  it("keeps a Slurm machine's placement and provisioning timeline, a result's energy and suspect reasons, as SQLite does", async () => {
    const id = `${runId}-issue20`;
    const slurmMachine: MachineRecord = {
      ...machine,
      runId: id,
      machineId: 'slurm:benchyard:42',
      provider: 'slurm',
      placement: {
        cluster: 'benchyard',
        partition: 'bench',
        node: 'h2',
        job: '42',
        gres: 'gpu:fake:1(IDX:0)',
        cpus: '0-1',
      },
      provision: {
        requested: 0,
        created: 90,
        running: 500,
        ssh: 680,
        docker: 720,
        images: 900,
        agent: 1400,
        firstRepetition: 1800,
      },
    };
    const measured: RepetitionResult = {
      ...result,
      runId: id,
      machineId: slurmMachine.machineId,
      metrics: {
        ...result.metrics,
        energy: {
          joules: 412.5,
          gpuJoules: 300,
          cpuJoules: 100,
          dramJoules: 12.5,
          sources: { 'gpu:GPU-1': 300, 'rapl:package-0': 100, 'rapl:dram-0': 12.5 },
        },
      },
      suspect: ['GPU 0 power-capped 38 % of the time'],
    };
    const dir = mkdtempSync(path.join(os.tmpdir(), 'by-store-issue20-'));
    const sqlite = new SqliteStore(dir);
    const es = await ElasticsearchStore.connect({ url: ES_URL });
    for (const store of [sqlite, es]) {
      await store.startRun({ ...run, id }, []);
      await store.recordMachine(slurmMachine);
      await store.recordResult(measured);
      await store.finishRun({ ...run, id, status: 'passed', finishedAt: '2026-11-28T00:00:04.000Z' });
    }
    await es.close();
    const reader = new ElasticsearchReader(ES_URL);
    try {
      for (const from of [sqlite, reader]) {
        expect(await from.listMachines!({ runId: id })).toEqual([
          expect.objectContaining({ placement: slurmMachine.placement, provision: slurmMachine.provision }),
        ]);
        const [back] = await from.listResults({ runId: id });
        expect(back?.metrics.energy).toEqual(measured.metrics.energy);
        expect(back?.suspect).toEqual(measured.suspect);
      }
    } finally {
      await Promise.all([reader.close(), sqlite.close()]);
    }
  });

  it('reports an unreachable server as an infrastructure error', async () => {
    const err = await ElasticsearchStore.connect({ url: 'http://127.0.0.1:9', requestTimeoutMs: 2000 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InfrastructureError);
    expect((err as Error).message).toMatch(/Elasticsearch at http:\/\/127\.0\.0\.1:9/);
  });
});

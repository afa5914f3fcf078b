/** Documents benchyard writes to Elasticsearch, and the way back to its records. */
import type { MachineRecord, MetricSample, RepetitionResult, RunRecord } from '../core/index.js';

/**
 * A sample in a time-series data stream. No `_id`: Elasticsearch derives it from the
 * dimensions and the timestamp, which is what makes a resent sample a `409`.
 */
export function sampleDoc(s: MetricSample): Record<string, unknown> {
  return {
    '@timestamp': new Date(s.timestamp).toISOString(),
    run: { id: s.runId },
    ...(s.cellId ? { cell: { id: s.cellId } } : {}),
    repetition: s.repetition,
    host: { name: s.host },
    ...(s.containerId ? { container: { id: s.containerId } } : {}),
    metric: {
      scope: s.scope,
      name: s.name,
      unit: s.unit,
      value: s.value,
      ...(s.device ? { device: s.device } : {}),
    },
    ...(s.scope === 'gpu' && s.device ? { gpu: { uuid: s.device } } : {}),
    event: { sequence: s.seq },
  };
}

const q = (text: string) => JSON.stringify(text);
const num = (n: number) => (Number.isFinite(n) ? String(n) : 'null');

/** The samples of one tick share their timestamp: its ISO text is made once (a third of sampleJson's time). */
let lastTimestamp = NaN;
let lastIso = '';
function iso(timestamp: number): string {
  if (timestamp !== lastTimestamp) {
    lastIso = new Date(timestamp).toISOString();
    lastTimestamp = timestamp;
  }
  return lastIso;
}

/**
 * `JSON.stringify(sampleDoc(s))`, written out directly: the sink serializes every sample
 * on the machine being measured, and this takes ~35 % less CPU (0.8 µs vs 1.2 µs a
 * document on the dev VM, the samples of a tick sharing their timestamp). A unit test
 * holds the two equal.
 */
export function sampleJson(s: MetricSample): string {
  const cell = s.cellId ? `"cell":{"id":${q(s.cellId)}},` : '';
  const container = s.containerId ? `"container":{"id":${q(s.containerId)}},` : '';
  const device = s.device ? `,"device":${q(s.device)}` : '';
  const gpu = s.scope === 'gpu' && s.device ? `"gpu":{"uuid":${q(s.device)}},` : '';
  return (
    `{"@timestamp":"${iso(s.timestamp)}","run":{"id":${q(s.runId)}},${cell}` +
    `"repetition":${s.repetition},"host":{"name":${q(s.host)}},${container}` +
    `"metric":{"scope":${q(s.scope)},"name":${q(s.name)},"unit":${q(s.unit)},"value":${num(s.value)}${device}},` +
    `${gpu}"event":{"sequence":${s.seq}}}`
  );
}

export function runDoc(run: RunRecord): Record<string, unknown> {
  return {
    '@timestamp': run.startedAt,
    run: { id: run.id, name: run.name, status: run.status },
    matrix_path: run.matrixPath,
    started_at: run.startedAt,
    ...(run.finishedAt ? { finished_at: run.finishedAt } : {}),
    cells: run.cells,
    repetitions: run.repetitions,
    passed: run.passed,
    failed: run.failed,
    ...(run.shard ? { shard: { index: run.shard.index, total: run.shard.total } } : {}),
    ...(run.tags?.length ? { tags: run.tags } : {}),
  };
}

/** A run's document id: one per run, or one per shard of a sharded run (each writes only its own). */
export function runDocId(run: RunRecord): string {
  return run.shard ? `${run.id}#${run.shard.index}` : run.id;
}

export function resultDoc(r: RepetitionResult): Record<string, unknown> {
  return {
    '@timestamp': r.finishedAt,
    run: { id: r.runId },
    cell: { id: r.cellId },
    repetition: r.repetition,
    benchmark: { name: r.benchmark, version: r.benchmarkVersion },
    params: Object.fromEntries(Object.entries(r.params).map(([k, v]) => [k, String(v)])),
    target: { name: r.target },
    provider: r.provider,
    machine: { id: r.machineId, instance_type: r.instanceType, hourly_price_usd: r.hourlyPriceUsd },
    ...(r.region ? { cloud: { region: r.region, ...(r.zone ? { availability_zone: r.zone } : {}) } } : {}),
    ...(r.fingerprint ? { host: { fingerprint: r.fingerprint } } : {}),
    container: { id: r.containerId, image: { name: r.image, digest: r.imageDigest } },
    status: r.status,
    warmup: r.warmup,
    ...(r.control ? { control: true } : {}),
    ...(r.failureClass ? { failure: { class: r.failureClass, reason: r.failureReason } } : {}),
    exit_code: r.exitCode,
    scores: r.scores,
    artifacts: r.artifacts,
    started_at: r.startedAt,
    finished_at: r.finishedAt,
    duration_ms: r.durationMs,
    metrics: {
      samples: r.metrics.samples,
      cpu_cores_mean: r.metrics.cpuCoresMean,
      cpu_cores_max: r.metrics.cpuCoresMax,
      memory_bytes_max: r.metrics.memoryBytesMax,
      ...(r.metrics.energy
        ? {
            energy: {
              joules: r.metrics.energy.joules,
              gpu_joules: r.metrics.energy.gpuJoules,
              cpu_joules: r.metrics.energy.cpuJoules,
              dram_joules: r.metrics.energy.dramJoules,
              sources: r.metrics.energy.sources,
            },
          }
        : {}),
      ...(r.metrics.energyMissing ? { energy_missing: r.metrics.energyMissing } : {}),
    },
    ...(r.suspect?.length ? { suspect: r.suspect } : {}),
  };
}

/** A machine of a run; its fields are named as in results documents, so the two join on them. */
export function machineDoc(m: MachineRecord): Record<string, unknown> {
  return {
    '@timestamp': m.collectedAt,
    run: { id: m.runId },
    target: { name: m.target },
    provider: m.provider,
    machine: { id: m.machineId, instance_type: m.instanceType },
    ...(m.region ? { cloud: { region: m.region, ...(m.zone ? { availability_zone: m.zone } : {}) } } : {}),
    host: { name: m.hostname, fingerprint: m.fingerprint },
    hardware: m.hardware,
    ...(m.placement ? { placement: m.placement } : {}),
    ...(m.provision ? { provision: m.provision } : {}),
  };
}

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A sample read back from its data stream (the inverse of `sampleDoc`). */
export function sampleFromDoc(d: Doc): MetricSample {
  return {
    runId: d.run.id,
    cellId: d.cell?.id ?? '',
    repetition: d.repetition,
    scope: d.metric.scope,
    name: d.metric.name,
    unit: d.metric.unit,
    value: d.metric.value ?? NaN,
    timestamp: Date.parse(d['@timestamp']),
    seq: d.event.sequence,
    host: d.host.name,
    ...(d.container?.id ? { containerId: d.container.id } : {}),
    ...(d.metric.device ? { device: d.metric.device } : {}),
  };
}

export function machineFromDoc(d: Doc): MachineRecord {
  return defined({
    runId: d.run.id,
    machineId: d.machine.id,
    target: d.target.name,
    provider: d.provider,
    instanceType: d.machine.instance_type,
    region: d.cloud?.region,
    zone: d.cloud?.availability_zone,
    hostname: d.host.name,
    fingerprint: d.host.fingerprint,
    collectedAt: d['@timestamp'],
    hardware: d.hardware,
    placement: d.placement,
    provision: d.provision,
  });
}

const defined = <T extends object>(o: T): T =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null)) as T;

export function runFromDoc(d: Doc): RunRecord {
  return defined({
    id: d.run.id,
    name: d.run.name,
    matrixPath: d.matrix_path,
    status: d.run.status,
    startedAt: d.started_at,
    finishedAt: d.finished_at,
    cells: d.cells,
    repetitions: d.repetitions,
    passed: d.passed,
    failed: d.failed,
    shard: d.shard && { index: d.shard.index, total: d.shard.total },
    tags: Array.isArray(d.tags) && d.tags.length > 0 ? d.tags : undefined,
  });
}

/** The stored record; params come back as strings (they are `flattened` keywords). */
export function resultFromDoc(d: Doc): RepetitionResult {
  return defined({
    runId: d.run.id,
    cellId: d.cell.id,
    repetition: d.repetition,
    benchmark: d.benchmark.name,
    benchmarkVersion: d.benchmark.version,
    params: d.params ?? {},
    target: d.target.name,
    provider: d.provider,
    machineId: d.machine?.id,
    instanceType: d.machine?.instance_type,
    hourlyPriceUsd: d.machine?.hourly_price_usd,
    region: d.cloud?.region,
    zone: d.cloud?.availability_zone,
    fingerprint: d.host?.fingerprint,
    image: d.container?.image?.name,
    imageDigest: d.container?.image?.digest,
    containerId: d.container?.id,
    status: d.status,
    warmup: d.warmup === true,
    ...(d.control === true ? { control: true } : {}),
    failureClass: d.failure?.class,
    failureReason: d.failure?.reason,
    exitCode: d.exit_code,
    scores: d.scores ?? [],
    startedAt: d.started_at,
    finishedAt: d.finished_at,
    durationMs: d.duration_ms,
    metrics: defined({
      samples: d.metrics?.samples ?? 0,
      cpuCoresMean: d.metrics?.cpu_cores_mean,
      cpuCoresMax: d.metrics?.cpu_cores_max,
      memoryBytesMax: d.metrics?.memory_bytes_max,
      energy: d.metrics?.energy
        ? defined({
            joules: d.metrics.energy.joules,
            gpuJoules: d.metrics.energy.gpu_joules,
            cpuJoules: d.metrics.energy.cpu_joules,
            dramJoules: d.metrics.energy.dram_joules,
            sources: d.metrics.energy.sources ?? {},
          })
        : undefined,
      energyMissing: d.metrics?.energy_missing,
    }),
    artifacts: d.artifacts ?? [],
    suspect: Array.isArray(d.suspect) && d.suspect.length ? d.suspect : undefined,
  }) as RepetitionResult;
}

/**
 * Index templates benchyard installs. Every field is mapped explicitly (`dynamic: strict`),
 * so nothing relies on dynamic mapping and a malformed document fails loudly.
 */
import { PROVISION_STEPS } from '../core/index.js';

const keyword = { type: 'keyword' } as const;
const date = { type: 'date' } as const;

export const RESULTS_INDEX = 'benchyard-results';
export const RUNS_INDEX = 'benchyard-runs';
export const EVENTS_INDEX = 'benchyard-events';
export const MACHINES_INDEX = 'benchyard-machines';

export const CONTAINER_METRICS_STREAM = 'metrics-benchyard.container-default';

/** The data stream of each sample scope (in-container `app` lines go with the container's). */
export const METRIC_STREAMS = {
  container: CONTAINER_METRICS_STREAM,
  app: CONTAINER_METRICS_STREAM,
  host: 'metrics-benchyard.host-default',
  gpu: 'metrics-benchyard.gpu-default',
  collector: 'metrics-benchyard.collector-default',
} as const;

/**
 * How far back (and ahead) a time-series data stream accepts samples, so a spool replayed
 * after an outage of hours is still taken. With Elasticsearch's data-streams module the
 * stream's own window is set (`index.look_back_time`); without it (the test distribution)
 * its one backing index gets explicit, wide bounds.
 */
export interface TimeWindow {
  lookBack: string;
  /** True when the cluster has the data-streams module (it sets time bounds itself). */
  managedBounds: boolean;
}

export const DEFAULT_LOOK_BACK = '7d';

/** A composable template: one shard, no replica (benchmark data is small), every field mapped. */
function template(pattern: string, properties: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return {
    index_patterns: [pattern],
    priority: 200,
    ...extra,
    template: {
      settings: { number_of_shards: 1, number_of_replicas: 0 },
      mappings: { dynamic: 'strict', properties },
    },
  };
}

const integer = { type: 'integer' } as const;
const long = { type: 'long' } as const;

/**
 * The whole fingerprint is kept in `_source`; only what analysts filter and group on is
 * indexed (`dynamic: false`: the rest, e.g. CPU flags, caches, PCI slots, is stored, not
 * searchable). Field names are the fingerprint's own (camelCase), so `hardware` is the
 * record as collected.
 */
const HARDWARE = {
  type: 'object',
  dynamic: false,
  properties: {
    cpu: {
      properties: { vendor: keyword, model: keyword, sockets: integer, cores: integer, threads: integer },
    },
    memory: { properties: { totalBytes: long } },
    kernel: keyword,
    os: { properties: { id: keyword, versionId: keyword, prettyName: keyword } },
    virtualization: keyword,
    gpus: {
      properties: { model: keyword, architecture: keyword, driverVersion: keyword, memoryTotalBytes: long },
    },
    fpgas: { properties: { vendor: keyword, model: keyword, shell: keyword } },
    xrtVersion: keyword,
  },
} as const;

export function templates(window: TimeWindow) {
  return {
    'benchyard-results': template(`${RESULTS_INDEX}*`, {
      '@timestamp': date,
      run: { properties: { id: keyword } },
      cell: { properties: { id: keyword } },
      repetition: { type: 'integer' },
      benchmark: { properties: { name: keyword, version: { type: 'integer' } } },
      params: { type: 'flattened' },
      target: { properties: { name: keyword } },
      provider: keyword,
      machine: {
        properties: { id: keyword, instance_type: keyword, hourly_price_usd: { type: 'double' } },
      },
      cloud: { properties: { region: keyword, availability_zone: keyword } },
      host: { properties: { fingerprint: keyword } },
      container: {
        properties: { id: keyword, image: { properties: { name: keyword, digest: keyword } } },
      },
      status: keyword,
      warmup: { type: 'boolean' },
      control: { type: 'boolean' },
      failure: { properties: { class: keyword, reason: { type: 'text' } } },
      exit_code: { type: 'integer' },
      scores: {
        type: 'nested',
        properties: { name: keyword, value: { type: 'double' }, unit: keyword, direction: keyword },
      },
      artifacts: {
        properties: {
          path: keyword,
          location: keyword,
          bytes: { type: 'long' },
          truncated: { type: 'boolean' },
        },
      },
      started_at: date,
      finished_at: date,
      duration_ms: { type: 'long' },
      metrics: {
        properties: {
          samples: { type: 'integer' },
          cpu_cores_mean: { type: 'double' },
          cpu_cores_max: { type: 'double' },
          memory_bytes_max: { type: 'long' },
          energy: {
            properties: {
              joules: { type: 'double' },
              gpu_joules: { type: 'double' },
              cpu_joules: { type: 'double' },
              dram_joules: { type: 'double' },
              // By source (`gpu:<uuid>`, `rapl:package-0`): kept, not indexed.
              sources: { type: 'object', enabled: false },
            },
          },
          energy_missing: { type: 'keyword', ignore_above: 1024 },
        },
      },
      suspect: { type: 'keyword', ignore_above: 1024 },
    }),
    'benchyard-runs': template(`${RUNS_INDEX}*`, {
      '@timestamp': date,
      run: { properties: { id: keyword, name: keyword, status: keyword } },
      tags: keyword,
      matrix_path: keyword,
      started_at: date,
      finished_at: date,
      cells: { type: 'integer' },
      repetitions: { type: 'integer' },
      passed: { type: 'integer' },
      failed: { type: 'integer' },
      // A sharded run has one document per shard (`<run id>#<shard>`); readers add them up.
      shard: { properties: { index: integer, total: integer } },
    }),
    'benchyard-machines': template(`${MACHINES_INDEX}*`, {
      '@timestamp': date,
      run: { properties: { id: keyword } },
      target: { properties: { name: keyword } },
      provider: keyword,
      machine: { properties: { id: keyword, instance_type: keyword } },
      cloud: { properties: { region: keyword, availability_zone: keyword } },
      host: { properties: { name: keyword, fingerprint: keyword } },
      hardware: HARDWARE,
      placement: {
        properties: {
          cluster: keyword,
          partition: keyword,
          node: keyword,
          job: keyword,
          gres: keyword,
          cpus: keyword,
          // kubernetes: the node's namespace, holder pod, and what its benchmark pods get.
          namespace: keyword,
          pod: keyword,
          cpu: keyword,
          memory: keyword,
          gpus: keyword,
        },
      },
      // ms from the request to each step the machine reached on its way to its first repetition.
      provision: {
        properties: Object.fromEntries(PROVISION_STEPS.map((s) => [s, { type: 'long' }])),
      },
    }),
    'benchyard-events': template(`${EVENTS_INDEX}*`, {
      '@timestamp': { type: 'date_nanos' },
      event: { properties: { action: keyword } },
      host: { properties: { name: keyword } },
      machine: { properties: { id: keyword } },
      container: { properties: { id: keyword, name: keyword, image: { properties: { name: keyword } } } },
      exit_code: { type: 'integer' },
      signal: keyword,
      session: { properties: { id: keyword } },
      run: { properties: { id: keyword } },
      cell: { properties: { id: keyword } },
      repetition: { type: 'integer' },
    }),
    ...Object.fromEntries(
      Object.entries(METRIC_STREAMS)
        .filter(([scope]) => scope !== 'app')
        .map(([scope, stream]) => [stream.replace(/-default$/, ''), metricsTemplate(scope, window)]),
    ),
  } as const;
}

const dimension = { type: 'keyword', time_series_dimension: true } as const;

/**
 * A time-series data stream: every series (run, cell, repetition, host, container, scope,
 * name, device) is a distinct set of dimensions, so a sample sent twice is one document
 * (`409` on the second `create`).
 */
function metricsTemplate(scope: string, window: TimeWindow) {
  const base = template(
    `metrics-benchyard.${scope}-*`,
    {
      '@timestamp': date,
      run: { properties: { id: dimension } },
      cell: { properties: { id: dimension } },
      repetition: { type: 'integer', time_series_dimension: true },
      host: { properties: { name: dimension } },
      container: { properties: { id: dimension } },
      metric: {
        properties: {
          scope: dimension,
          name: dimension,
          device: dimension,
          unit: keyword,
          value: { type: 'double', time_series_metric: 'gauge' },
        },
      },
      ...(scope === 'gpu' ? { gpu: { properties: { uuid: keyword } } } : {}),
      event: { properties: { sequence: { type: 'long' } } },
    },
    { data_stream: {} },
  );
  const bounds = window.managedBounds
    ? { 'index.look_back_time': window.lookBack }
    : {
        'index.time_series.start_time': '2000-01-01T00:00:00Z',
        'index.time_series.end_time': '2200-01-01T00:00:00Z',
      };
  return {
    ...base,
    template: {
      ...base.template,
      settings: {
        ...base.template.settings,
        'index.mode': 'time_series',
        'index.routing_path': ['run.id', 'host.name', 'metric.name'],
        ...bounds,
      },
    },
  };
}

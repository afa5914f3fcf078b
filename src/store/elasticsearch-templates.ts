/**
 * Index templates benchyard installs. Every field is mapped explicitly (`dynamic: strict`),
 * so nothing relies on dynamic mapping and a malformed document fails loudly.
 */
const keyword = { type: 'keyword' } as const;
const date = { type: 'date' } as const;

export const RESULTS_INDEX = 'benchyard-results';
export const RUNS_INDEX = 'benchyard-runs';
export const CONTAINER_METRICS_STREAM = 'metrics-benchyard.container-default';

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

export const TEMPLATES = {
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
    cloud: { properties: { region: keyword } },
    container: {
      properties: { id: keyword, image: { properties: { name: keyword, digest: keyword } } },
    },
    status: keyword,
    warmup: { type: 'boolean' },
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
      },
    },
  }),
  'benchyard-runs': template(`${RUNS_INDEX}*`, {
    '@timestamp': date,
    run: { properties: { id: keyword, name: keyword, status: keyword } },
    matrix_path: keyword,
    started_at: date,
    finished_at: date,
    cells: { type: 'integer' },
    repetitions: { type: 'integer' },
    passed: { type: 'integer' },
    failed: { type: 'integer' },
  }),
  'metrics-benchyard.container': template(
    'metrics-benchyard.container-*',
    {
      '@timestamp': date,
      run: { properties: { id: keyword } },
      cell: { properties: { id: keyword } },
      repetition: { type: 'integer' },
      host: { properties: { name: keyword } },
      container: { properties: { id: keyword } },
      metric: {
        properties: { scope: keyword, name: keyword, unit: keyword, value: { type: 'double' } },
      },
      event: { properties: { sequence: { type: 'long' } } },
    },
    { data_stream: {} },
  ),
} as const;

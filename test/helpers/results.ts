/** A passed measured repetition with plain defaults; tests give only what they look at. */
import type { RepetitionResult, RunRecord } from '../../src/core/index.js';

export function repetitionResult(over: Partial<RepetitionResult> = {}): RepetitionResult {
  return {
    runId: 'r',
    cellId: 'c',
    repetition: 1,
    benchmark: 'b',
    benchmarkVersion: 1,
    params: {},
    target: 'here',
    provider: 'local',
    machineId: 'm',
    instanceType: 'local',
    image: 'benchyard/bench-tools:1',
    imageDigest: 'sha256:1',
    status: 'passed',
    warmup: false,
    scores: [],
    startedAt: '',
    finishedAt: '',
    durationMs: 1,
    metrics: { samples: 0 },
    artifacts: [],
    ...over,
  };
}

/** A stored run of the matrix `nightly`: passed, one cell, one repetition, unless `over` says otherwise. */
export function runRecord(over: Partial<RunRecord> & { id: string }): RunRecord {
  return {
    name: 'nightly',
    matrixPath: 'm.yaml',
    status: 'passed',
    startedAt: '2026-01-01T00:00:00.000Z',
    cells: 1,
    repetitions: 1,
    passed: 1,
    failed: 0,
    ...over,
  };
}

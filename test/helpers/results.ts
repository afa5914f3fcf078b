/** A passed measured repetition with plain defaults; tests give only what they look at. */
import type { RepetitionResult } from '../../src/core/index.js';

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

import { describe, expect, it } from 'vitest';
import type { MetricSample } from '../../src/core/index.js';
import { sampleDoc, sampleJson } from '../../src/store/elasticsearch-docs.js';

const base: MetricSample = {
  runId: 'r-1',
  cellId: 'abcdef123456',
  repetition: 2,
  scope: 'container',
  name: 'container.cpu.usage.cores',
  unit: 'cores',
  value: 0.5,
  timestamp: Date.UTC(2026, 10, 28, 8, 0, 0, 123),
  seq: 7,
  host: 'h "quoted"\\',
};

describe('sample documents', () => {
  it.each<[string, Partial<MetricSample>]>([
    ['a container sample', { containerId: 'c0ffee', device: 'eth0' }],
    ['a GPU sample (gpu.uuid)', { scope: 'gpu', name: 'gpu.utilization.pct', unit: 'pct', device: 'GPU-1' }],
    ['a host sample between repetitions (no cell)', { scope: 'host', cellId: '', repetition: 0 }],
    ['a non-finite value (null, never invalid JSON)', { value: Number.NaN }],
    ['unicode and control characters', { name: 'app.λ\n', unit: 'µs\t' }],
  ])('the hand-written JSON equals JSON.stringify(sampleDoc) for %s', (_, extra) => {
    const s = { ...base, ...extra };
    expect(JSON.parse(sampleJson(s))).toEqual(JSON.parse(JSON.stringify(sampleDoc(s))));
    expect(sampleJson(s)).toBe(JSON.stringify(sampleDoc(s)));
  });

  it('gives each sample its own timestamp when timestamps repeat and alternate (the last one is reused)', () => {
    const b = base.timestamp;
    // 8.64e15: the last date JavaScript has.
    const t = [b, b, b + 1, b + 1, b, b - 1, 8.64e15, b + 1];
    for (const timestamp of t)
      expect(JSON.parse(sampleJson({ ...base, timestamp }))['@timestamp']).toBe(
        new Date(timestamp).toISOString(),
      );
  });
});

import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { MetricSample } from '../../src/core/index.js';
import { ElasticsearchStore, METRIC_STREAMS } from '../../src/store/index.js';
import { exactlyOnce, samplesInEs } from '../helpers/es-series.js';
import { startFaultProxy, type Fault } from '../helpers/fault-proxy.js';
import { ES_URL, esClient } from '../helpers/services.js';

const es = esClient();
afterAll(() => es.close());

/** `series` GPU-like series of `perSeries` samples each, one timestamp per 100 ms. */
function samples(runId: string, series: number, perSeries: number, t0: number): MetricSample[][] {
  const ticks: MetricSample[][] = [];
  for (let seq = 0; seq < perSeries; seq++)
    ticks.push(
      Array.from({ length: series }, (_, i) => ({
        runId,
        cellId: 'cell0',
        repetition: 1,
        scope: 'gpu' as const,
        name: 'gpu.utilization.pct',
        unit: 'pct',
        value: (seq * 7 + i) % 100,
        timestamp: t0 + seq * 100,
        seq,
        host: 'h',
        device: `GPU-${i}`,
      })),
    );
  return ticks;
}

describe('bulk sink under injected faults', () => {
  it('stores every sample exactly once through 429, 503, resets and per-item 429s, with the backoff counted', async () => {
    const runId = `faults-${process.pid}-${Date.now()}`;
    const plan: Fault[] = ['pass', 503, 'items429', 429, 'reset', 'pass', 'items429', 503];
    const proxy = await startFaultProxy(ES_URL, (n) => plan[n % plan.length]!);
    const store = await ElasticsearchStore.connect({
      url: proxy.url,
      spoolRoot: mkdtempSync(path.join(os.tmpdir(), 'by-spool-')),
      flushIntervalMs: 100,
      maxBatchBytes: 32 * 1024,
      backoffMs: 20,
      maxBackoffMs: 200,
      attempts: 3,
    });
    try {
      for (const tick of samples(runId, 10, 300, Date.UTC(2026, 10, 28, 8))) {
        store.write(tick);
        await new Promise((r) => setTimeout(r, 1));
      }
      await store.flush();
    } finally {
      await store.close();
      await proxy.close();
    }
    const stats = store.stats();
    const check = await samplesInEs(es, METRIC_STREAMS.gpu, runId);
    expect(exactlyOnce(check, 300)).toEqual([]);
    expect(check.total).toBe(3000);
    expect(check.series.size).toBe(10);
    expect(proxy.seen.injected).toMatchObject({
      429: expect.any(Number),
      503: expect.any(Number),
      items429: expect.any(Number),
    });
    expect(stats.retries).toBeGreaterThan(0);
    expect(stats.backoffMs).toBeGreaterThan(0);
    expect(stats.dropped).toBe(0);
  });
});

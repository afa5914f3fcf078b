/**
 * perf:metrics phase 5: documents/s through ElasticsearchStore (its BulkSink: batches, gzip,
 * retries) against the ceiling of plain `_bulk` POSTs of the same NDJSON built beforehand,
 * uncompressed (the best of batches of 1000/5000 × 1/2/4 in flight). After a warm-up and
 * the sweep that picks the ceiling's shape, the store and that shape alternate (store
 * first, then raw first, …), so a busy moment of a shared machine hits both; the figure is
 * the ratio of the medians, with the spread of the pairs' ratios.
 *
 * Each attempt also counts the CPU it cost per document, in this process and in
 * Elasticsearch (the pid listening on its port, when local): where both share the cores,
 * throughput follows their sum, which is how the report says where the time goes.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { quantile } from 'simple-statistics';
import type { MetricSample } from '../../src/core/index.js';
import { BulkBody } from '../../src/store/bulk-body.js';
import { sampleJson } from '../../src/store/elasticsearch-docs.js';
import { ElasticsearchStore, METRIC_STREAMS } from '../../src/store/index.js';
import { cpuMs, tcpListeners } from './processes.js';

export const INGEST_HOST = 'perf-metrics-ingest';

const CONTAINER_NAMES = [
  'container.cpu.usage.cores',
  'container.cpu.throttled.pct',
  'container.memory.usage.bytes',
  'container.disk.read.bytes_per_sec',
  'container.disk.write.bytes_per_sec',
  'container.disk.io.ops_per_sec',
  'container.pids.count',
  'container.network.rx.bytes_per_sec',
  'container.network.tx.bytes_per_sec',
  'app.score',
];

/** `n` samples over 1000 series (90 containers × 10 names, 100 host CPUs), one per second each. */
function makeSamples(runId: string, n: number): MetricSample[] {
  const series: Omit<MetricSample, 'runId' | 'timestamp' | 'seq' | 'value'>[] = [];
  for (let c = 0; c < 90; c++) {
    const containerId = (c.toString(16).padStart(4, '0') + 'c0ffee').repeat(7).slice(0, 64);
    for (const name of CONTAINER_NAMES)
      series.push({
        cellId: `cell-${c % 9}`,
        repetition: c % 3,
        scope: name === 'app.score' ? 'app' : 'container',
        name,
        unit: 'u',
        containerId,
        host: INGEST_HOST,
      });
  }
  for (let cpu = 0; cpu < 100; cpu++)
    series.push({
      cellId: '',
      repetition: 0,
      scope: 'host',
      name: 'host.cpu.usage.pct',
      unit: 'pct',
      device: `cpu${cpu}`,
      host: INGEST_HOST,
    });
  const t0 = Date.now() - 20 * 60_000;
  const out: MetricSample[] = [];
  for (let k = 0; out.length < n; k++)
    for (const s of series) {
      if (out.length >= n) break;
      out.push({ ...s, runId, timestamp: t0 + k * 1000, seq: k, value: Math.random() * 100 });
    }
  return out;
}

/** The store's action lines (one per stream, made once, as elasticsearch-store.ts does) and documents. */
const ACTION = Object.fromEntries(
  Object.entries(METRIC_STREAMS).map(([scope, stream]) => [
    scope,
    JSON.stringify({ create: { _index: stream } }),
  ]),
) as Record<keyof typeof METRIC_STREAMS, string>;
const ndjsonLine = (s: MetricSample) => `${ACTION[s.scope]}\n${sampleJson(s)}\n`;

export interface Attempt {
  docs: number;
  docsPerS: number;
  stored: number;
  /** CPU per document, µs: this process, Elasticsearch (NaN when it is not local). */
  ownUs: number;
  esUs: number;
}

export class Ingest {
  private runs = 0;
  private readonly esPid: number | undefined;
  private readonly streams = [...new Set(Object.values(METRIC_STREAMS))].join(',');

  constructor(private readonly url: string) {
    const u = new URL(url);
    this.esPid = ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname)
      ? tcpListeners(Number(u.port || 9200))[0]
      : undefined;
  }

  get elasticsearchPid(): number | undefined {
    return this.esPid;
  }

  async es(method: string, p: string, body?: unknown): Promise<unknown> {
    const res = await fetch(`${this.url}${p}`, {
      method,
      headers: { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${p}: HTTP ${res.status} ${text.slice(0, 300)}`);
    return JSON.parse(text);
  }

  private async count(runId: string): Promise<number> {
    await this.es('POST', `/${this.streams}/_refresh`);
    const r = (await this.es('POST', `/${this.streams}/_count`, {
      query: { term: { 'run.id': runId } },
    })) as { count: number };
    return r.count;
  }

  /** Times `send` (which stores `n` documents of run `runId`) and the CPU it costs. */
  private async measure(n: number, runId: string, send: () => Promise<void>): Promise<Attempt> {
    const es0 = this.esPid === undefined ? undefined : cpuMs(this.esPid);
    const own0 = process.cpuUsage();
    const t0 = performance.now();
    await send();
    const s = (performance.now() - t0) / 1000;
    const own = process.cpuUsage(own0);
    const es1 = this.esPid === undefined ? undefined : cpuMs(this.esPid);
    return {
      docs: n,
      docsPerS: n / s,
      ownUs: (own.user + own.system) / n,
      esUs: es0 === undefined || es1 === undefined ? NaN : (1000 * (es1 - es0)) / n,
      stored: await this.count(runId),
    };
  }

  private newRun(): string {
    return `perf-metrics-ingest-${process.pid}-${Date.now()}-${this.runs++}`;
  }

  async store(n: number): Promise<Attempt> {
    const runId = this.newRun();
    const samples = makeSamples(runId, n);
    const store = await ElasticsearchStore.connect({ url: this.url });
    try {
      return await this.measure(n, runId, async () => {
        for (let i = 0; i < n; i += 1000) {
          store.write(samples.slice(i, i + 1000));
          // Like a collector writing tick by tick: the event loop turns between writes, so
          // the sink sends while the producer produces. A producer is never faster than the
          // sink for long: wait while 24 MiB are pending (the sink's own limit, 64 MiB,
          // would drop batches), so the sink always has batches to send.
          await new Promise((r) => setImmediate(r));
          while (store.stats().memoryBytes > 24 * 1024 * 1024) await sleep(2);
        }
        await store.flush();
      });
    } finally {
      await store.close();
    }
  }

  /** Plain `_bulk` POSTs of bodies built beforehand (not timed), uncompressed. */
  async raw(n: number, batch: number, inflight: number): Promise<Attempt> {
    const runId = this.newRun();
    const samples = makeSamples(runId, n);
    const bodies: string[] = [];
    for (let i = 0; i < n; i += batch)
      bodies.push(
        samples
          .slice(i, i + batch)
          .map(ndjsonLine)
          .join(''),
      );
    let next = 0;
    let errors = 0;
    const a = await this.measure(n, runId, async () => {
      await Promise.all(
        Array.from({ length: inflight }, async () => {
          while (next < bodies.length) {
            const body = bodies[next++]!;
            const res = await fetch(`${this.url}/_bulk?filter_path=errors`, {
              method: 'POST',
              headers: { 'content-type': 'application/x-ndjson' },
              body,
            });
            const r = (await res.json()) as { errors?: boolean };
            if (!res.ok || r.errors) errors++;
          }
        }),
      );
    });
    if (errors) console.log(`    ${errors} bulk requests reported errors`);
    return a;
  }

  /**
   * What the store's own CPU per document is made of, measured apart on `n` documents in
   * 2 MiB batches as the sink seals them: serializing (sampleJson), encoding the lines into
   * the batch's body (BulkBody), gzip level 1 of each body (the rest is the client, the
   * event loop and GC).
   */
  async storeParts(n: number): Promise<{ serializeUs: number; encodeUs: number; gzipUs: number }> {
    const samples = makeSamples('perf-metrics-parts', n);
    const gzip = promisify(zlib.gzip);
    const total = { serialize: 0, encode: 0, gzip: 0 };
    const add = (part: keyof typeof total, c0: NodeJS.CpuUsage) => {
      const c = process.cpuUsage(c0);
      total[part] += c.user + c.system;
    };
    const perBatch = Math.ceil((2 * 1024 * 1024) / ndjsonLine(samples[0]!).length);
    for (let i = 0; i < n; i += perBatch) {
      const batch = samples.slice(i, i + perBatch);
      let c0 = process.cpuUsage();
      const docs = batch.map(sampleJson);
      add('serialize', c0);
      c0 = process.cpuUsage();
      const body = new BulkBody();
      batch.forEach((s, k) => {
        body.line(ACTION[s.scope]);
        body.line(docs[k]!);
      });
      add('encode', c0);
      c0 = process.cpuUsage();
      await gzip(body.bytes(), { level: 1 });
      add('gzip', c0);
    }
    return { serializeUs: total.serialize / n, encodeUs: total.encode / n, gzipUs: total.gzip / n };
  }
}

export const median = (xs: number[]) => quantile(xs, 0.5);

/**
 * Elasticsearch goes away in the middle of a run and comes back: the run goes on, samples
 * and results wait in the spool (memory stays under its limit), and once the node is back
 * every sample is stored exactly once. In the suite the node is cut off for 10 s by a TCP
 * relay that refuses connections (what a stopped node looks like to the client) so no JVM
 * restart is waited for; `npm run test:es-outage` stops the real node for two minutes
 * (BENCHYARD_ES_OUTAGE=stop, BENCHYARD_ES_OUTAGE_MS=120000).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { MetricSample } from '../../src/core/index.js';
import { METRIC_STREAMS, SqliteStore } from '../../src/store/index.js';
import { ROOT } from '../helpers/catalog.js';
import { BIN } from '../helpers/cli.js';
import { samplesInEs } from '../helpers/es-series.js';
import { ES_URL, esClient } from '../helpers/services.js';
import { startTcpOutage } from '../helpers/tcp-outage.js';

const STOP_NODE = process.env.BENCHYARD_ES_OUTAGE === 'stop';
const OUTAGE_MS = Number(process.env.BENCHYARD_ES_OUTAGE_MS ?? (STOP_NODE ? 30_000 : 10_000));
/** Before the outage, the node's restart (a relay is back at once), and the drain after it. */
const BEFORE_S = STOP_NODE ? 15 : 6;
const RESTART_S = STOP_NODE ? 25 : 0;
const DRAIN_S = STOP_NODE ? 40 : 14;
// Five repetitions that outlast the outage and the restart by the drain time, so the spool
// drains while the run still runs.
const REPETITION_S = Math.ceil((BEFORE_S + OUTAGE_MS / 1000 + RESTART_S + DRAIN_S) / 5);
const services = (...args: string[]) =>
  execFileSync(path.join(ROOT, 'scripts/services'), args, { stdio: 'pipe', timeout: 180_000 }).toString();
const es = esClient();

afterAll(async () => {
  if (STOP_NODE) services('up', 'es'); // whatever happened, leave the node running for the next tests
  await es.close();
});

describe(`Elasticsearch ${STOP_NODE ? 'stopped' : 'cut off'} for ${OUTAGE_MS / 1000} s mid-run`, () => {
  it(
    'loses nothing and stores nothing twice; memory stays bounded while the spool holds the batches',
    { timeout: 5 * REPETITION_S * 1000 + 180_000 },
    async () => {
      const work = mkdtempSync(path.join(os.tmpdir(), 'by-outage-'));
      const relay = STOP_NODE ? undefined : await startTcpOutage(ES_URL);
      const esUrl = relay?.url ?? ES_URL;
      const matrix = path.join(work, 'outage.yaml');
      // Five repetitions printing a live metric every 100 ms, sampled at 200 ms.
      writeFileSync(
        matrix,
        `name: outage
repetitions: 5
metrics: {interval: 200ms}
store:
  elasticsearch: {url: ${esUrl}, flushInterval: 1s, memoryLimit: 256KiB}
targets: [{name: here, provider: local}]
benchmarks:
  - benchmark:
      name: ticker
      image: benchyard/bench-tools:1
      network: none
      command: ["sh", "-c", "i=0; end=$(( $(date +%s) + ${REPETITION_S} )); while [ $(date +%s) -lt $end ]; do echo \\"@benchyard metric=tick value=$i\\"; i=$((i+1)); sleep 0.1; done; echo done $i"]
      scores:
        - {name: ticks, unit: ticks, direction: higher, regex: 'done (\\d+)'}
`,
      );
      const child = spawn(process.execPath, [BIN, 'run', matrix, '--state', work], {
        cwd: work,
        env: { ...process.env, CI: 'true' },
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));

      await new Promise((r) => setTimeout(r, BEFORE_S * 1000));
      if (relay) await relay.down();
      else services('down', 'es');
      const downAt = Date.now();
      await new Promise((r) => setTimeout(r, OUTAGE_MS));
      if (relay) await relay.up();
      else services('up', 'es');
      const outageMs = Date.now() - downAt;
      const code = await exited;
      await relay?.close();

      expect(outageMs).toBeGreaterThanOrEqual(OUTAGE_MS);
      expect(code, stderr).toBe(0);
      const runId = /^run (\S+):/m.exec(stderr)![1]!;
      const sqlite = new SqliteStore(work);
      const truth = await sqlite.listSamples({ runId });
      expect((await sqlite.listResults({ runId })).filter((r) => r.status === 'passed')).toHaveLength(5);
      await sqlite.close();

      // The spool was used, and memory stayed within the limit plus one batch being built.
      const max = (name: string) => Math.max(...truth.filter((s) => s.name === name).map((s) => s.value));
      expect(max('collector.spool.batches')).toBeGreaterThan(0);
      expect(max('collector.sink.memory.bytes')).toBeLessThan(256 * 1024 + 128 * 1024);

      // Every sample the controller recorded is in Elasticsearch exactly once.
      const key = (
        s: Pick<MetricSample, 'cellId' | 'repetition' | 'containerId' | 'scope' | 'name' | 'device'>,
      ) => [s.cellId, s.repetition, s.containerId ?? '', s.scope, s.name, s.device ?? ''].join('|');
      const expected = new Map<string, number[]>();
      for (const s of truth.filter((t) => t.scope !== 'collector'))
        expected.set(
          key(s),
          [...(expected.get(key(s)) ?? []), s.seq].sort((a, b) => a - b),
        );
      const stored = new Map<string, number[]>();
      for (const stream of new Set([METRIC_STREAMS.container, METRIC_STREAMS.host]))
        for (const [k, seqs] of (await samplesInEs(es, stream, runId)).series) stored.set(k, seqs);
      expect(stored.size).toBe(expected.size);
      for (const [k, seqs] of expected) expect(stored.get(k), k).toEqual(seqs);
      // ~9 ticks a second in each of the five repetitions: none lost.
      const ticks = [...expected].filter(([k]) => k.endsWith('|app|tick|')).map(([, seqs]) => seqs.length);
      expect(ticks).toHaveLength(5);
      for (const n of ticks) expect(n).toBeGreaterThan(REPETITION_S * 7.5);
    },
  );
});

/**
 * The controller is killed with SIGKILL while Elasticsearch is away and its batches are in
 * the spool: the next controller that opens the same spool folder sends them first, and
 * every sample the dead one had flushed arrives exactly once.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ElasticsearchStore, METRIC_STREAMS } from '../../src/store/index.js';
import { ROOT } from '../helpers/catalog.js';
import { exactlyOnce, samplesInEs } from '../helpers/es-series.js';
import { startFaultProxy } from '../helpers/fault-proxy.js';
import { ES_URL, esClient } from '../helpers/services.js';

const es = esClient();
afterAll(() => es.close());

describe('controller killed with SIGKILL mid-run', () => {
  it('replays its spool on the next start', async () => {
    const runId = `kill-${process.pid}-${Date.now()}`;
    const spoolRoot = mkdtempSync(path.join(os.tmpdir(), 'by-kill-'));
    const proxy = await startFaultProxy(ES_URL, () => 503);
    const flushed: number[] = [];
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'test/helpers/sink-writer.ts'), proxy.url, spoolRoot, runId],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let buf = '';
    const enough = new Promise<void>((resolve) =>
      child.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        const lines = buf.split('\n');
        buf = lines.pop()!;
        for (const l of lines) if (/^\d+$/.test(l)) flushed.push(Number(l));
        if (flushed.length >= 40) resolve();
      }),
    );
    await Promise.race([enough, new Promise((r) => setTimeout(r, 30_000))]);
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    await proxy.close();
    expect(flushed.length).toBeGreaterThanOrEqual(40);
    expect(readdirSync(spoolRoot)).toHaveLength(1); // the dead controller's spool

    // The next controller, with Elasticsearch back.
    const store = await ElasticsearchStore.connect({ url: ES_URL, spoolRoot });
    await store.close();
    const check = await samplesInEs(es, METRIC_STREAMS.host, runId);
    const seqs = check.series.values().next().value ?? [];
    expect(check.series.size).toBe(1);
    expect(seqs.slice(0, flushed.length)).toEqual(flushed); // every flushed sample, in order
    expect(exactlyOnce(check, seqs.length)).toEqual([]); // and none twice
    expect(readdirSync(spoolRoot)).toEqual([]); // emptied spools are removed
  });
});

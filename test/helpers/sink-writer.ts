/**
 * Child process for test/integration/controller-kill.test.ts: a controller whose
 * Elasticsearch is unreachable (every `_bulk` answered 503 by the test's proxy). It writes
 * samples of one series tick by tick, flushes after each tick (flushed = stored or
 * durably spooled) and prints the tick's sequence number; then it is SIGKILLed.
 *
 *   node --import tsx test/helpers/sink-writer.ts ES_URL SPOOL_ROOT RUN_ID
 */
import { writeSync } from 'node:fs';
import { ElasticsearchStore } from '../../src/store/index.js';

const [url, spoolRoot, runId] = process.argv.slice(2);
if (!url || !spoolRoot || !runId) throw new Error('usage: sink-writer ES_URL SPOOL_ROOT RUN_ID');

const store = await ElasticsearchStore.connect({
  url,
  spoolRoot,
  attempts: 1,
  backoffMs: 10,
  flushIntervalMs: 100,
});
writeSync(1, 'ready\n');
const t0 = Date.UTC(2026, 10, 28, 9);
for (let seq = 0; ; seq++) {
  store.write([
    {
      runId,
      cellId: 'c',
      repetition: 1,
      scope: 'host',
      name: 'host.cpu.usage.pct',
      unit: 'pct',
      value: seq % 100,
      timestamp: t0 + seq * 100,
      seq,
      host: 'h',
    },
  ]);
  await store.flush();
  writeSync(1, `${seq}\n`);
}

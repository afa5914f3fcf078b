/**
 * What collecting a container's stdout costs benchyard per line, the path a repetition
 * takes without Docker: 64 KiB chunks into the stdout OutputBuffer, lines to the
 * AppLineFeed, batches to a MachineMonitor, samples to SqliteStore.write. The container
 * waits on its pipe when this path is slower than it prints, so µs per line is what a
 * flood can cost the benchmark. Variants, each on N lines:
 *
 *  - plain: no `@benchyard` line (what any output costs);
 *  - flood: every line a metric line, capped and batched (now);
 *  - before: every line a metric line handed over one at a time, no cap (each line its
 *    own SQLite transaction, as before issue 15), on N/10 lines, extrapolated.
 *
 * Prints µs per line and the database's size; asserts nothing.
 * `npm run perf:flood [-- N]` (default 2,000,000, ~1 minute).
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { OutputBuffer } from '../../src/engine/output-buffer.js';
import { AppLineFeed, MachineMonitor, type ContainerWatch } from '../../src/metrics/index.js';
import { DB_FILE, SqliteStore } from '../../src/store/index.js';
import { printAccounted } from './processes.js';

const N = Number(process.argv[2] ?? 2_000_000);
const CHUNK = 64 * 1024;

function chunks(line: string, count: number): Buffer[] {
  const perChunk = Math.floor(CHUNK / (line.length + 1));
  const out: Buffer[] = [];
  for (let left = count; left > 0; left -= perChunk)
    out.push(Buffer.from(`${line}\n`.repeat(Math.min(perChunk, left))));
  return out;
}

async function measure(what: 'plain' | 'flood' | 'before', lines: number): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'by-perf-flood-'));
  const store = new SqliteStore(dir);
  const monitor = new MachineMonitor({ host: 'perf', intervalMs: 60_000, output: store, containers: false });
  await monitor.start('20261205-000000-000000');
  const watch: ContainerWatch = monitor.watch(
    { runId: '20261205-000000-000000', cellId: 'c', repetition: 1 },
    { id: 'x', pid: 0 },
  );
  const feed = new AppLineFeed((batch) => watch.lines(batch));
  const onLine = what === 'before' ? (l: string) => watch.line(l) : (l: string) => feed.line(l);
  const stdout = new OutputBuffer(32 * 1024 * 1024, onLine);
  const input = chunks(
    what === 'plain' ? 'xbenchyard metric=flood value=1.5' : '@benchyard metric=flood value=1.5',
    lines,
  );
  const t0 = process.hrtime.bigint();
  for (const c of input) {
    await new Promise<void>((resolve) => stdout.write(c, () => resolve()));
    // A pipe delivers a chunk per event-loop turn: batches form as they would live.
    await new Promise((r) => setImmediate(r));
  }
  feed.flush();
  await watch.finish();
  await monitor.stop();
  await store.flush();
  const us = Number(process.hrtime.bigint() - t0) / 1000 / lines;
  await store.close();
  const bytes = (await stat(path.join(dir, DB_FILE))).size;
  await rm(dir, { recursive: true, force: true });
  const per2M = (us * 2_000_000) / 1e6;
  console.log(
    `${what.padEnd(6)}: ${us.toFixed(2)} µs/line (${per2M.toFixed(1)} s for 2 M lines); ${feed.dropped} dropped; database ${(bytes / 2 ** 20).toFixed(1)} MiB for ${lines} lines`,
  );
}

console.log(`${N} lines of stdout, ${CHUNK / 1024} KiB chunks`);
printAccounted(
  [],
  [],
  `µs per line is this process's (pid ${process.pid}) wall time doing the work, on one thread`,
);
for (const what of ['plain', 'flood', 'plain', 'flood'] as const) await measure(what, N);
await measure('before', Math.floor(N / 10));

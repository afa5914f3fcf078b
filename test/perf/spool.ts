/**
 * Spool throughput: appends of 1 KB and 1 MB batches (one at a time, and many in flight as a
 * busy sink has them), then a replay (peek + ack). Prints records/s, MB/s, fsyncs/s and
 * append latency; asserts nothing. About 5 s. `npx tsx test/perf/spool.ts [DIR]`
 * (DIR: where to spool; a temp directory by default, removed afterwards).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Spool } from '../../src/store/spool.js';
import { printAccounted } from './processes.js';

const base = process.argv[2] ?? os.tmpdir();

interface Case {
  name: string;
  recordBytes: number;
  inFlight: number;
  seconds: number;
  groupCommitMs?: number;
}

const CASES: Case[] = [
  { name: '1 KB, 1 in flight', recordBytes: 1024, inFlight: 1, seconds: 0.5 },
  { name: '1 KB, 64 in flight', recordBytes: 1024, inFlight: 64, seconds: 1 },
  { name: '1 MB, 1 in flight', recordBytes: 1024 * 1024, inFlight: 1, seconds: 0.5 },
  { name: '1 MB, 8 in flight', recordBytes: 1024 * 1024, inFlight: 8, seconds: 1 },
  // What the disk allows: no minimum time between group commits.
  { name: '1 KB, 64, no window', recordBytes: 1024, inFlight: 64, seconds: 0.5, groupCommitMs: 0 },
  { name: '1 MB, 8, no window', recordBytes: 1024 * 1024, inFlight: 8, seconds: 0.5, groupCommitMs: 0 },
];

/** An NDJSON `_bulk` body of about `bytes` bytes. */
function body(bytes: number): string {
  const line = `{"index":{}}\n{"@timestamp":"2025-01-01T00:00:00Z","metric":"cpu.usage","value":0.4213}\n`;
  return line.repeat(Math.max(1, Math.round(bytes / line.length)));
}

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) * p)] ?? NaN;
const fmt = (x: number, digits = 1) => x.toFixed(digits).padStart(9);

async function appendCase(c: Case, dir: string): Promise<void> {
  const spool = await Spool.open(dir, { maxBytes: 64 * 1024 ** 3, groupCommitMs: c.groupCommitMs });
  const text = body(c.recordBytes);
  const latencies: number[] = [];
  const t0 = performance.now();
  const deadline = t0 + c.seconds * 1000;
  const worker = async () => {
    while (performance.now() < deadline) {
      const s = performance.now();
      await spool.append({ meta: { docs: 1000, firstSeq: latencies.length }, body: text });
      latencies.push(performance.now() - s);
    }
  };
  await Promise.all(Array.from({ length: c.inFlight }, worker));
  const secs = (performance.now() - t0) / 1000;
  const st = spool.stats();
  console.log(
    `${c.name.padEnd(20)} ${fmt(st.appends / secs, 0)} rec/s ${fmt(st.bytes / secs / 1e6)} MB/s ` +
      `${fmt(st.fsyncs / secs)} fsync/s ${fmt(st.appends / st.fsyncs)} rec/fsync ` +
      `latency p50 ${fmt(pct(latencies, 0.5))} ms  p99 ${fmt(pct(latencies, 0.99))} ms`,
  );
  await spool.close();
}

async function replayCase(name: string, dir: string, seconds: number): Promise<void> {
  const spool = await Spool.open(dir);
  const t0 = performance.now();
  let records = 0;
  let bytes = 0;
  for (let rec = await spool.peek(); rec; rec = await spool.peek()) {
    records++;
    bytes += rec.bytes;
    await spool.ack(rec.id);
    if (performance.now() - t0 > seconds * 1000) break;
  }
  const secs = (performance.now() - t0) / 1000;
  console.log(
    `${name.padEnd(20)} ${fmt(records / secs, 0)} rec/s ${fmt(bytes / secs / 1e6)} MB/s ` +
      `(peek + ack; ${spool.stats().cursorWrites} cursor writes)`,
  );
  await spool.close();
}

const root = await mkdtemp(path.join(base, 'benchyard-spool-perf-'));
try {
  console.log(`spool in ${root}, node ${process.version}; group commit window 50 ms unless said`);
  printAccounted([], [], `rates and latencies of this process (pid ${process.pid}) and its disk`);
  for (const c of CASES) await appendCase(c, path.join(root, c.name.replace(/\W+/g, '-')));
  await replayCase('replay 1 KB', path.join(root, '1-KB-64-in-flight'), 0.5);
  await replayCase('replay 1 MB', path.join(root, '1-MB-8-in-flight'), 0.5);
} finally {
  await rm(root, { recursive: true, force: true });
}

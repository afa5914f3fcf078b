/**
 * The spool survives SIGKILL: a child process (test/helpers/spool-writer.ts) appends numbered
 * batches as fast as it can and prints each number once its append resolved; it is killed
 * ~300 ms in, twice (the second child takes over the first one's stale lock). Every number a
 * child reported durable must be replayed exactly once, in order.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Spool } from '../../src/store/spool.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const WRITER = path.join(ROOT, 'test/helpers/spool-writer.ts');

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'benchyard-spool-crash-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/**
 * Runs the writer until `killAfterMs` after it is ready, SIGKILLs it and returns the numbers
 * it reported durable. `node --import tsx` rather than `npx tsx`: one process, so the
 * SIGKILL hits the writer itself and not a wrapper around it.
 */
function runWriter(first: number, killAfterMs: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', WRITER, dir, String(first), String(256 * 1024)],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      if (!timer && out.startsWith('ready\n')) timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    child.on('error', reject);
    // 'close': exited (and reaped, so its pid is dead) and stdout read to the end.
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') return reject(new Error(`writer exited (${code}, ${signal}): ${err}`));
      const lines = out.split('\n');
      lines.pop(); // a line cut by the kill
      resolve(lines.slice(1).map(Number));
    });
  });
}

/** Everything in the spool, oldest first, as record numbers (checking each body matches). */
async function replay(): Promise<{ numbers: number[]; spool: Spool }> {
  const spool = await Spool.open(dir);
  const numbers: number[] = [];
  for (let rec = await spool.peek(); rec; rec = await spool.peek()) {
    const n = rec.meta.n as number;
    expect(rec.body.startsWith(`{"index":{}}\n{"n":${n},"pad":"`)).toBe(true);
    numbers.push(n);
    await spool.ack(rec.id);
  }
  return { numbers, spool };
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

describe('spool crash safety', () => {
  it('keeps every batch a SIGKILLed writer saw as durable, once and in order', async () => {
    const first = await runWriter(0, 300);
    const second = await runWriter(1_000_000, 300);
    expect(first.length).toBeGreaterThan(50);
    expect(second.length).toBeGreaterThan(50);

    const { numbers, spool } = await replay();
    try {
      // The first run's records, then the second's: each a gap-free run from its start
      // (appends are written in call order), ending at or after the last one reported.
      const split = numbers.findIndex((n) => n >= 1_000_000);
      expect(split).toBeGreaterThan(0);
      const a = numbers.slice(0, split);
      const b = numbers.slice(split);
      expect(a).toEqual(range(0, a.length));
      expect(b).toEqual(range(1_000_000, 1_000_000 + b.length));
      expect(a.length).toBeGreaterThanOrEqual(Math.max(...first) + 1);
      expect(b.length).toBeGreaterThanOrEqual(Math.max(...second) - 1_000_000 + 1);
      const present = new Set(numbers);
      expect([...first, ...second].filter((n) => !present.has(n))).toEqual([]);
      expect(spool.stats().corruptSkipped).toBe(0);
    } finally {
      await spool.close();
    }
    // Everything acknowledged and closed: nothing is replayed again.
    const again = await Spool.open(dir);
    expect(again.depth()).toEqual({ records: 0, bytes: 0 });
    await again.close();
  });
});

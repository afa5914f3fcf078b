/**
 * The on-disk spool (src/store/spool.ts) on the real filesystem, in a temp directory:
 * order across segments, deletion of acknowledged segments, the cursor, torn tails, corrupt
 * records, the size bound, group commit and the lock.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFile, cp, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InfrastructureError } from '../../src/core/index.js';
import {
  crc32,
  crc32Fallback,
  DiskSpool,
  Spool,
  SpoolFullError,
  type SpoolOptions,
  type SpoolRecord,
} from '../../src/store/spool.js';

let dir: string;
const open: Spool[] = [];

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'benchyard-spool-'));
});

afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
  await rm(dir, { recursive: true, force: true });
});

async function openSpool(options: SpoolOptions = {}): Promise<Spool> {
  const s = await Spool.open(dir, { groupCommitMs: 0, ...options });
  open.push(s);
  return s;
}

async function closeSpool(s: Spool): Promise<void> {
  open.splice(open.indexOf(s), 1);
  await s.close();
}

/** A batch whose size does not depend on `n` (below a million). */
const batch = (n: number, pad = 100) => {
  const id = String(n).padStart(6, '0');
  return { meta: { docs: 1, n: id }, body: `{"index":{}}\n{"n":"${id}","pad":"${'x'.repeat(pad)}"}\n` };
};

async function segments(): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f.startsWith('seg-')).sort();
}

/** Reads and acknowledges everything, returning the record numbers in order. */
async function drain(s: Spool, limit = Infinity): Promise<number[]> {
  const got: number[] = [];
  for (let rec = await s.peek(); rec && got.length < limit; rec = await s.peek()) {
    got.push(Number(rec.meta.n));
    expect(rec.body).toContain(`"n":"${String(rec.meta.n)}"`);
    await s.ack(rec.id);
  }
  return got;
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

describe('crc32', () => {
  it('the fallback table agrees with zlib, also when continuing a CRC', () => {
    for (const size of [0, 1, 7, 64, 1000, 65_537]) {
      const data = randomBytes(size);
      expect(crc32Fallback(data)).toBe(zlib.crc32(data));
      if (size > 0) expect(crc32Fallback(data, 0x12345678)).toBe(zlib.crc32(data, 0x12345678));
      expect(crc32(data, 0x12345678)).toBe(crc32Fallback(data, 0x12345678));
      expect(crc32(data)).toBe(zlib.crc32(data));
    }
    expect(crc32(Buffer.alloc(0), 0x12345678)).toBe(0x12345678);
    const a = randomBytes(100);
    const b = randomBytes(200);
    expect(crc32Fallback(b, crc32Fallback(a))).toBe(zlib.crc32(Buffer.concat([a, b])));
    expect(crc32Fallback(Buffer.from('123456789'))).toBe(0xcbf43926);
  });
});

describe('spool', () => {
  it('replays in order across segments and deletes the segments it acknowledged', async () => {
    const s = await openSpool({ maxSegmentBytes: 1024 });
    await Promise.all(range(0, 40).map((n) => s.append(batch(n))));
    expect(s.depth().records).toBe(40);
    const before = await segments();
    expect(before.length).toBeGreaterThan(4);
    expect(before.every((f) => /^seg-\d{16}\.log$/.test(f))).toBe(true);

    const first = await s.peek();
    expect(first?.meta).toEqual({ docs: 1, n: '000000' });
    expect((await s.peek())?.id).toEqual(first?.id); // peek repeats until acked

    expect(await drain(s, 20)).toEqual(range(0, 20));
    const middle = await segments();
    expect(middle.length).toBeLessThan(before.length);
    expect(middle).toEqual(before.slice(before.length - middle.length)); // the oldest went first

    expect(await drain(s)).toEqual(range(20, 40));
    expect(await s.peek()).toBeUndefined();
    expect(s.depth()).toEqual({ records: 0, bytes: 0 });
    expect((await segments()).length).toBe(1); // only the active one is left
    await closeSpool(s);
    expect(await segments()).toEqual([]); // fully acknowledged: deleted on close
  });

  it('keeps a record larger than a segment in a segment of its own', async () => {
    const s = await openSpool({ maxSegmentBytes: 1024 });
    await s.append(batch(0));
    await s.append(batch(1, 5000));
    await s.append(batch(2));
    expect((await segments()).length).toBe(3);
    expect(await drain(s)).toEqual([0, 1, 2]);
  });

  it('accepts binary bodies and returns them as text', async () => {
    const s = await openSpool();
    await s.append({ meta: { docs: 2 }, body: new TextEncoder().encode('{"a":1}\n{"b":"é"}\n') });
    await s.append({ meta: {}, body: '' });
    const rec = (await s.peek()) as SpoolRecord;
    expect(rec.body).toBe('{"a":1}\n{"b":"é"}\n');
    await s.ack(rec.id);
    expect(await s.peek()).toMatchObject({ meta: {}, body: '' });
  });

  it('persists the acknowledged position across close and reopen', async () => {
    let s = await openSpool({ maxSegmentBytes: 1024 });
    await Promise.all(range(0, 30).map((n) => s.append(batch(n))));
    expect(await drain(s, 13)).toEqual(range(0, 13));
    const depth = s.depth();
    await closeSpool(s);
    expect(JSON.parse(await readFile(path.join(dir, 'cursor'), 'utf8'))).toMatchObject({ v: 1 });

    s = await openSpool({ maxSegmentBytes: 1024 });
    expect(s.depth()).toEqual(depth);
    await s.append(batch(30));
    expect(await drain(s)).toEqual(range(13, 31));
    await closeSpool(s);

    s = await openSpool();
    expect(s.depth()).toEqual({ records: 0, bytes: 0 });
    expect(await s.peek()).toBeUndefined();
  });

  it('after a crash replays from the last cursor write (a few duplicates, nothing lost)', async () => {
    const s = await openSpool({ maxSegmentBytes: 1024, cursorSyncMs: 300 });
    await Promise.all(range(0, 20).map((n) => s.append(batch(n))));
    expect(await drain(s, 8)).toEqual(range(0, 8));
    await new Promise((r) => setTimeout(r, 400)); // the cursor now says 8
    expect(await drain(s, 1)).toEqual([8]); // not in the cursor yet: replayed again
    // What a SIGKILL leaves: the files as they are now, lock included (this pid, not held there).
    const crashed = `${dir}-crashed`;
    await cp(dir, crashed, { recursive: true });
    try {
      const after = await Spool.open(crashed, { groupCommitMs: 0 });
      expect(after.depth().records).toBe(12);
      expect(await drain(after)).toEqual(range(8, 20));
      await after.close();
    } finally {
      await rm(crashed, { recursive: true, force: true });
    }
  });

  it('writes the cursor periodically, not on every acknowledgement', async () => {
    const s = await openSpool({ cursorSyncMs: 100 });
    await Promise.all(range(0, 20).map((n) => s.append(batch(n))));
    await drain(s, 10);
    expect(s.stats().cursorWrites).toBe(0);
    await new Promise((r) => setTimeout(r, 250));
    expect(s.stats().cursorWrites).toBe(1);
  });

  it('truncates a torn tail on reopen and keeps the records before it', async () => {
    let s = await openSpool();
    for (const n of range(0, 5)) await s.append(batch(n));
    await closeSpool(s);
    const [seg] = await segments();
    const file = path.join(dir, seg!);
    const whole = await readFile(file);
    const recordBytes = whole.length / 5;
    // Half of a sixth record, as a crash in the middle of a write leaves it.
    await appendFile(file, whole.subarray(0, Math.floor(recordBytes / 2)));

    s = await openSpool();
    expect((await stat(file)).size).toBe(whole.length);
    expect(s.stats().truncatedBytes).toBe(Math.floor(recordBytes / 2));
    expect(s.depth().records).toBe(5);
    await s.append(batch(5));
    expect(await drain(s)).toEqual(range(0, 6));
  });

  it('treats a zeroed tail (delayed allocation after power loss) as torn', async () => {
    let s = await openSpool();
    for (const n of range(0, 3)) await s.append(batch(n));
    await closeSpool(s);
    const file = path.join(dir, (await segments())[0]!);
    const size = (await stat(file)).size;
    await appendFile(file, Buffer.alloc(4096));
    s = await openSpool();
    expect((await stat(file)).size).toBe(size);
    expect(await drain(s)).toEqual([0, 1, 2]);
  });

  it('detects a corrupt record in an older segment and skips the rest of that segment', async () => {
    let s = await openSpool({ maxSegmentBytes: 1024 });
    await Promise.all(range(0, 20).map((n) => s.append(batch(n))));
    await closeSpool(s);
    const segs = await segments();
    expect(segs.length).toBeGreaterThan(2);
    const file = path.join(dir, segs[0]!);
    const data = await readFile(file);
    const perRecord = await recordSize();
    const inSegment = data.length / perRecord;
    expect(Number.isInteger(inSegment)).toBe(true);
    // Flip one byte in the body of the third record of the first segment.
    data[Math.floor(perRecord * 2 + perRecord / 2)]! ^= 0xff;
    await writeFile(file, data);

    s = await openSpool({ maxSegmentBytes: 1024 });
    const got = await drain(s);
    expect(got).toEqual([0, 1, ...range(inSegment, 20)]);
    expect(s.stats().corruptSkipped).toBe(1);
    expect(s.depth()).toEqual({ records: 0, bytes: 0 });
    expect(await segments()).toEqual([]); // the corrupt one was dropped with the others
  });

  it('refuses appends beyond maxBytes with SpoolFullError and counts them', async () => {
    const s = await openSpool({ maxBytes: 10 * 1024 });
    const size = await recordSize(900);
    const fits = Math.floor((10 * 1024) / size);
    for (const n of range(0, fits)) await s.append(batch(n, 900));
    const err = await s.append(batch(fits, 900)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpoolFullError);
    expect(err).toBeInstanceOf(InfrastructureError);
    expect(s.stats()).toMatchObject({ refused: 1, appends: fits });
    expect(s.depth()).toEqual({ records: fits, bytes: fits * size });
    await expect(s.append({ meta: {}, body: 'x'.repeat(20 * 1024) })).rejects.toBeInstanceOf(SpoolFullError);
    expect(s.stats().refused).toBe(2);
    // Acknowledging makes room again.
    await drain(s, 1);
    await s.append(batch(fits, 900));
    expect(s.depth().records).toBe(fits);
  });

  it('groups concurrent appends into far fewer fsyncs', async () => {
    const s = await openSpool({ groupCommitMs: 50 });
    await Promise.all(range(0, 100).map((n) => s.append(batch(n))));
    const st = s.stats();
    expect(st.appends).toBe(100);
    expect(st.fsyncs).toBeLessThanOrEqual(5); // one segment data sync (+ the directory's)
    expect(st.bytes).toBe(s.depth().bytes);
    expect(await drain(s)).toEqual(range(0, 100));
  });

  it('spaces group commits by groupCommitMs under a steady stream of appends', async () => {
    const s = await openSpool({ groupCommitMs: 50 });
    const t0 = performance.now();
    const all: Promise<void>[] = [];
    while (performance.now() - t0 < 400) {
      all.push(s.append(batch(all.length)));
      await new Promise((r) => setTimeout(r, 2));
    }
    await Promise.all(all);
    expect(all.length).toBeGreaterThan(50);
    expect(s.stats().fsyncs).toBeLessThanOrEqual(14); // ~400 ms / 50 ms, plus the directory's
  });

  it('takes a lock: a second open fails while the first is open', async () => {
    const s = await openSpool();
    expect(Number(await readFile(path.join(dir, 'lock'), 'utf8'))).toBe(process.pid);
    await expect(Spool.open(dir)).rejects.toThrow(InfrastructureError);
    await expect(Spool.open(dir)).rejects.toThrow(/in use by this process/);
    await closeSpool(s);
    await expect(stat(path.join(dir, 'lock'))).rejects.toThrow();
    await openSpool();
  });

  it('takes over a stale lock whose process is dead, not one whose process lives', async () => {
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    await writeFile(path.join(dir, 'lock'), `${dead}\n`);
    const s = await openSpool();
    expect(Number(await readFile(path.join(dir, 'lock'), 'utf8'))).toBe(process.pid);
    await closeSpool(s);

    // Our own pid, left by an earlier process that had it (a restarted container): stale too.
    await writeFile(path.join(dir, 'lock'), `${process.pid}\n`);
    await closeSpool(await openSpool());

    await writeFile(path.join(dir, 'lock'), `${process.ppid}\n`);
    await expect(Spool.open(dir)).rejects.toThrow(`in use by process ${process.ppid}`);
  });

  it('rejects appends after close and fails clearly on an unusable directory', async () => {
    const s = await openSpool();
    await closeSpool(s);
    await expect(s.append(batch(0))).rejects.toThrow(/closed/);
    const file = path.join(dir, 'not-a-dir');
    await writeFile(file, '');
    await expect(Spool.open(file)).rejects.toThrow(InfrastructureError);
  });

  it('close waits for pending appends', async () => {
    const s = await openSpool({ groupCommitMs: 200 });
    await s.append(batch(0)); // the next group waits ~200 ms
    const done: number[] = [];
    const pending = range(1, 10).map((n) => s.append(batch(n)).then(() => done.push(n)));
    await closeSpool(s);
    expect(done).toHaveLength(9);
    await Promise.all(pending);
    const again = await openSpool();
    expect(await drain(again)).toEqual(range(0, 10));
  });

  it('rejects acknowledging anything but the oldest record', async () => {
    const s = await openSpool();
    await s.append(batch(0));
    await s.append(batch(1));
    const rec = (await s.peek()) as SpoolRecord;
    await expect(s.ack({ ...rec.id, offset: rec.id.end, end: rec.id.end * 2 })).rejects.toThrow(/oldest/);
    await s.ack(rec.id);
    await s.ack(rec.id); // twice: no-op
    expect(s.depth().records).toBe(1);
  });

  it('DiskSpool: bodies with document counts and string ids', async () => {
    const d = await DiskSpool.open(dir, { groupCommitMs: 0 });
    await d.append('{"index":{}}\n{"a":1}\n', 1);
    await d.append('{"index":{}}\n{"a":2}\n', 1);
    const first = await d.peek();
    expect(first).toMatchObject({ body: '{"index":{}}\n{"a":1}\n', docs: 1 });
    await d.ack(first!.id);
    expect((await d.peek())?.body).toContain('"a":2');
    expect(d.depth().records).toBe(1);
    await d.close();
  });
});

/** On-disk size of `batch(n, pad)`, measured through a throwaway spool. */
async function recordSize(pad = 100): Promise<number> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'benchyard-spool-size-'));
  try {
    const s = await Spool.open(tmp, { groupCommitMs: 0 });
    await s.append(batch(0, pad));
    const bytes = s.depth().bytes;
    await s.close();
    return bytes;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

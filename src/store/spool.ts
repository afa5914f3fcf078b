/**
 * An append-only on-disk spool for metric batches (`_bulk` bodies) that could not reach
 * Elasticsearch. Batches are appended durably with group commit and replayed oldest first;
 * the consumer acknowledges each one once Elasticsearch accepted it.
 *
 * Layout of the spool directory:
 *  - `seg-<16 digits>.log`: segments, appended only, numbered in write order. Each open starts
 *    a new segment; earlier ones are never written again (only truncated, see below).
 *  - `cursor`: the acknowledged position, JSON `{"v":1,"segment":N,"offset":BYTES}`, replaced
 *    atomically (tmp + fsync + rename) at most every `cursorSyncMs` and on close.
 *  - `lock`: the owner's pid, created with O_EXCL; a lock whose pid is dead is taken over.
 *
 * A record (frame) is `u32le length | u32le crc | payload`, `length` counting the payload and
 * `crc` being CRC-32 of the four length bytes followed by the payload (so a zeroed tail never
 * passes). The payload is `u32le metaLength | meta (UTF-8 JSON) | body (UTF-8, verbatim)`:
 * the NDJSON body is stored as is, never JSON-escaped.
 *
 * Crash safety: an append resolves only after its bytes were written and fdatasync'd (and,
 * for a new segment, the directory fsync'd). On open the newest segment is read in full and
 * a torn or corrupt tail is truncated away; older segments are walked by their length
 * fields and every record's CRC is checked again when it is read, so a corrupt record ends
 * the reading of its segment (counted in `corruptSkipped`, logged) instead of returning
 * garbage. After a crash, records acknowledged since the last cursor write are replayed
 * again (duplicates are acceptable to the consumer, losses are not).
 *
 * Group commit: appends made while a group is being written and fdatasync'd, or less than
 * `groupCommitMs` after the previous group started, go out together in the next group (one
 * writev + one fdatasync), so a busy sink costs at most ~1000/groupCommitMs syncs a second
 * (plus one directory fsync and one more data sync per new segment).
 *
 * `Spool` is the general API (JSON meta + body, record ids as objects); `DiskSpool` wraps it
 * in the shape BulkSink expects (`append(body, docs)`, string ids).
 */
import { open, readdir, readFile, rename, rm, mkdir } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { InfrastructureError, errorMessage, silentLogger } from '../core/index.js';
import type { Logger } from '../core/index.js';
import { codeOf, decodePayload, encodeFrame, readFrame, syncDir, writeAll } from './spool-frame.js';
import { acquireLock, releaseLock } from './spool-lock.js';

export { crc32, crc32Fallback } from './spool-frame.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** What the sink spools: the small header of a batch and its `_bulk` body. */
export interface SpoolBatch {
  /** Small JSON header, e.g. `{ docs: 500, firstSeq: 1234 }`. */
  meta: { [key: string]: JsonValue };
  /** The `_bulk` request body (NDJSON); stored verbatim as UTF-8. */
  body: string | Uint8Array;
}

/** Where a record lies; pass it back to `ack`. */
export interface SpoolRecordId {
  readonly segment: number;
  readonly offset: number;
  /** Offset just past the record. */
  readonly end: number;
}

/** A record read back from the spool. */
export interface SpoolRecord {
  readonly id: SpoolRecordId;
  readonly meta: { [key: string]: JsonValue };
  readonly body: string;
  /** Bytes the record takes on disk (frame included). */
  readonly bytes: number;
}

export interface SpoolOptions {
  /** A segment is closed and a new one started when the next record would exceed this. Default 16 MiB. */
  maxSegmentBytes?: number;
  /** Unacknowledged bytes (frames, including pending appends) beyond which appends are refused. Default 2 GiB. */
  maxBytes?: number;
  /** Minimum time between the starts of two group commits (fdatasyncs); appends in between share one. Default 50 ms. */
  groupCommitMs?: number;
  /** Acknowledged positions are written to `cursor` at most this often (and on close). 0: on every ack. Default 1000 ms. */
  cursorSyncMs?: number;
  logger?: Logger;
}

export interface SpoolDepth {
  /** Records appended (durable or pending) and not yet acknowledged. */
  records: number;
  /** Their size on disk, frames included. */
  bytes: number;
}

export interface SpoolStats {
  /** Appends accepted since open (not refused). */
  appends: number;
  /** Appends accepted whose write or fsync failed (their promises rejected). */
  failed: number;
  /** fsync/fdatasync calls of every kind: segment data, directory, cursor. */
  fsyncs: number;
  /** Bytes written to segments since open (frames included). */
  bytes: number;
  /** Appends refused because the spool was full (`SpoolFullError`). */
  refused: number;
  /** Corrupt records met while reading; each ends the reading of its segment. */
  corruptSkipped: number;
  /** Bytes of torn or corrupt tail cut off the newest segment on open. */
  truncatedBytes: number;
  /** Records acknowledged since open. */
  acked: number;
  /** Cursor files written since open. */
  cursorWrites: number;
  /** Segment files on disk now. */
  segments: number;
}

/** An append the spool refused because it is full: the caller counts the batch as dropped. */
export class SpoolFullError extends InfrastructureError {}

const DEFAULTS = {
  maxSegmentBytes: 16 * 1024 * 1024,
  maxBytes: 2 * 1024 * 1024 * 1024,
  groupCommitMs: 50,
  cursorSyncMs: 1000,
} as const;

const SEGMENT_RE = /^seg-(\d{16})\.log$/;
const CURSOR = 'cursor';

// ---------------------------------------------------------------------------------------------
// The spool

interface Segment {
  seq: number;
  file: string;
  /** Bytes of whole durable records: reads stop here, the next append goes here. */
  end: number;
  /** Durable records in [0, end). */
  records: number;
  /** The next unacknowledged record. */
  readOffset: number;
  /** Records before readOffset. */
  consumed: number;
  /** Open for appending (only the active segment). */
  writer?: FileHandle;
}

interface PendingAppend {
  parts: Buffer[];
  bytes: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

interface Cursor {
  segment: number;
  offset: number;
}

export class Spool {
  readonly dir: string;
  private readonly maxSegmentBytes: number;
  private readonly maxBytes: number;
  private readonly groupCommitMs: number;
  private readonly cursorSyncMs: number;
  private readonly logger: Logger;
  private readonly lockFile: string;

  /** Oldest first; the last one may be the active segment. */
  private segments: Segment[] = [];
  private active: Segment | undefined;
  private nextSeq = 1;

  private pending: PendingAppend[] = [];
  private flushing: Promise<void> | undefined;
  private lastFlushStart = -Infinity;

  private reader: { seq: number; fh: FileHandle } | undefined;
  private head: SpoolRecord | undefined;
  private readChain: Promise<unknown> = Promise.resolve();

  private cursorDirty = false;
  private cursorTimer: NodeJS.Timeout | undefined;
  private cursorChain: Promise<void> = Promise.resolve();

  private depthRecords = 0;
  private depthBytes = 0;
  private state: 'open' | 'closing' | 'closed' = 'open';
  private readonly counters: Omit<SpoolStats, 'segments'> = {
    appends: 0,
    failed: 0,
    fsyncs: 0,
    bytes: 0,
    refused: 0,
    corruptSkipped: 0,
    truncatedBytes: 0,
    acked: 0,
    cursorWrites: 0,
  };

  private constructor(dir: string, lockFile: string, options: SpoolOptions) {
    this.dir = dir;
    this.lockFile = lockFile;
    this.maxSegmentBytes = options.maxSegmentBytes ?? DEFAULTS.maxSegmentBytes;
    this.maxBytes = options.maxBytes ?? DEFAULTS.maxBytes;
    this.groupCommitMs = options.groupCommitMs ?? DEFAULTS.groupCommitMs;
    this.cursorSyncMs = options.cursorSyncMs ?? DEFAULTS.cursorSyncMs;
    this.logger = options.logger ?? silentLogger;
  }

  /**
   * Opens (creating) the spool in `dir`: takes the lock, drops segments the cursor says were
   * acknowledged, truncates a torn tail off the newest segment. Throws InfrastructureError
   * when the directory is unusable or another live process holds the lock.
   */
  static async open(dir: string, options: SpoolOptions = {}): Promise<Spool> {
    const root = path.resolve(dir);
    const logger = options.logger ?? silentLogger;
    try {
      await mkdir(root, { recursive: true });
    } catch (err) {
      throw new InfrastructureError(
        `spool directory ${root} is unusable: ${errorMessage(err)}`,
        { dir: root },
        { cause: err },
      );
    }
    const lockFile = await acquireLock(root, logger);
    try {
      const spool = new Spool(root, lockFile, options);
      await spool.recover();
      return spool;
    } catch (err) {
      await releaseLock(lockFile);
      if (err instanceof InfrastructureError) throw err;
      throw new InfrastructureError(
        `cannot open spool ${root}: ${errorMessage(err)}`,
        { dir: root },
        { cause: err },
      );
    }
  }

  /**
   * Appends a batch; resolves once it is durable (written and fdatasync'd together with the
   * appends around it). Throws SpoolFullError (counted in `refused`) when it does not fit
   * under `maxBytes`, InfrastructureError when the spool is closed or the disk fails.
   */
  append(batch: SpoolBatch): Promise<void> {
    if (this.state !== 'open') return Promise.reject(this.closedError());
    const { parts, bytes } = encodeFrame(batch);
    if (parts.length === 0 || this.depthBytes + bytes > this.maxBytes) {
      this.counters.refused++;
      return Promise.reject(
        new SpoolFullError(`spool ${this.dir} is full: batch of ${bytes} bytes refused`, {
          dir: this.dir,
          recordBytes: bytes,
          depthBytes: this.depthBytes,
          maxBytes: this.maxBytes,
        }),
      );
    }
    this.counters.appends++;
    this.depthRecords++;
    this.depthBytes += bytes;
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ parts, bytes, resolve, reject });
      this.flushing ??= this.flushLoop();
    });
  }

  /** The oldest unacknowledged durable record, or undefined when there is none. Repeats until acked. */
  peek(): Promise<SpoolRecord | undefined> {
    if (this.state === 'closed') return Promise.reject(this.closedError());
    return this.readLocked(() => this.readHead());
  }

  /**
   * Acknowledges `id` (from `peek`) and every record before it. Acknowledging a record twice
   * is a no-op; acknowledging any other record than the oldest unacknowledged one throws.
   */
  ack(id: SpoolRecordId): Promise<void> {
    if (this.state === 'closed') return Promise.reject(this.closedError());
    return this.readLocked(async () => {
      const seg = this.segments.find((s) => s.seq === id.segment);
      const first = this.segments[0];
      if (!seg) {
        if (first === undefined || id.segment < first.seq) return; // acknowledged and deleted
        throw new Error(`spool: unknown record ${id.segment}:${id.offset}`);
      }
      if (id.end <= seg.readOffset) return;
      if (seg !== first || id.offset !== seg.readOffset || id.end > seg.end)
        throw new Error(
          `spool: only the oldest unacknowledged record can be acknowledged, not ${id.segment}:${id.offset}`,
        );
      seg.readOffset = id.end;
      seg.consumed++;
      this.depthRecords--;
      this.depthBytes -= id.end - id.offset;
      this.counters.acked++;
      this.head = undefined;
      if (seg !== this.active && seg.readOffset >= seg.end) await this.dropSegment(seg);
      this.cursorMoved();
    });
  }

  /** Unacknowledged records and bytes (pending appends included); kept in memory. */
  depth(): SpoolDepth {
    return { records: this.depthRecords, bytes: this.depthBytes };
  }

  stats(): SpoolStats {
    return { ...this.counters, segments: this.segments.length };
  }

  /** Waits for pending appends, writes the cursor, deletes consumed segments, releases the lock. */
  async close(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'closing';
    while (this.flushing) await this.flushing;
    await this.readLocked(async () => {
      if (this.active) await this.sealActive();
      this.head = undefined;
    });
    if (this.cursorTimer) clearTimeout(this.cursorTimer);
    this.cursorTimer = undefined;
    if (this.cursorDirty) await this.writeCursor().catch(() => undefined);
    await this.cursorChain;
    if (this.reader) await this.reader.fh.close().catch(() => undefined);
    this.reader = undefined;
    await releaseLock(this.lockFile);
    this.state = 'closed';
  }

  // --- recovery ------------------------------------------------------------------------------

  private async recover(): Promise<void> {
    const names = await readdir(this.dir);
    await rm(path.join(this.dir, `${CURSOR}.tmp`), { force: true });
    const seqs = names
      .map((n) => SEGMENT_RE.exec(n)?.[1])
      .filter((s): s is string => s !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    const cursor = await this.readCursor();
    this.nextSeq = Math.max(seqs.at(-1) ?? 0, cursor?.segment ?? 0) + 1;
    for (const [i, seq] of seqs.entries()) {
      const file = this.segmentPath(seq);
      if (cursor && seq < cursor.segment) {
        await rm(file, { force: true }); // acknowledged; its deletion did not reach the disk
        continue;
      }
      const seg = await this.scanSegment(
        seq,
        i === seqs.length - 1,
        cursor?.segment === seq ? cursor.offset : 0,
      );
      if (seg.readOffset >= seg.end) await rm(file, { force: true });
      else this.segments.push(seg);
    }
    for (const seg of this.segments) {
      this.depthRecords += seg.records - seg.consumed;
      this.depthBytes += seg.end - seg.readOffset;
    }
    if (this.segments.length > 0)
      this.logger.info('spool: records to replay', {
        dir: this.dir,
        records: this.depthRecords,
        bytes: this.depthBytes,
      });
  }

  /** Walks a segment; the newest (`verify`) is CRC-checked and its bad tail truncated. */
  private async scanSegment(seq: number, verify: boolean, cursorOffset: number): Promise<Segment> {
    const file = this.segmentPath(seq);
    const fh = await open(file, verify ? 'r+' : 'r');
    try {
      const size = (await fh.stat()).size;
      let offset = 0;
      let records = 0;
      let consumed = cursorOffset === 0 ? 0 : -1;
      let bad: { why: string } | undefined;
      while (offset < size) {
        const frame = await readFrame(fh, offset, size, verify);
        if (frame.kind !== 'ok' || (frame.payload && !decodePayload(frame.payload))) {
          bad = frame.kind === 'ok' ? { why: 'undecodable payload' } : frame;
          break;
        }
        offset = frame.end;
        records++;
        if (offset === cursorOffset) consumed = records;
      }
      if (bad && verify) {
        this.logger.warn('spool: truncating a torn tail', {
          file,
          at: offset,
          bytes: size - offset,
          why: bad.why,
        });
        await fh.truncate(offset);
        await fh.sync();
        this.counters.fsyncs++;
        this.counters.truncatedBytes += size - offset;
      } else if (bad) {
        this.counters.corruptSkipped++;
        this.logger.warn('spool: corrupt record, rest of segment skipped', {
          file,
          at: offset,
          why: bad.why,
        });
      }
      if (consumed < 0) {
        this.logger.warn('spool: cursor is not at a record boundary; replaying the whole segment', {
          file,
          offset: cursorOffset,
        });
        consumed = 0;
      }
      const readOffset = consumed === 0 ? 0 : cursorOffset;
      return { seq, file, end: offset, records, readOffset, consumed };
    } finally {
      await fh.close();
    }
  }

  private async readCursor(): Promise<Cursor | undefined> {
    let text: string;
    try {
      text = await readFile(path.join(this.dir, CURSOR), 'utf8');
    } catch (err) {
      if (codeOf(err) === 'ENOENT') return undefined;
      throw err;
    }
    try {
      const c = JSON.parse(text) as { v?: unknown; segment?: unknown; offset?: unknown };
      if (c.v === 1 && Number.isSafeInteger(c.segment) && Number.isSafeInteger(c.offset))
        return { segment: c.segment as number, offset: c.offset as number };
    } catch {
      // fall through
    }
    this.logger.warn('spool: unreadable cursor ignored; everything will be replayed', { dir: this.dir });
    return undefined;
  }

  // --- appending -----------------------------------------------------------------------------

  /** Group commit: one write + fdatasync per group, groups starting at least groupCommitMs apart. */
  private async flushLoop(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        const wait = this.lastFlushStart + this.groupCommitMs - performance.now();
        // Always yield once, so that appends made in the same tick join the group.
        if (this.state === 'open') await sleep(Math.max(0, wait));
        this.lastFlushStart = performance.now();
        const group = this.pending;
        this.pending = [];
        await this.writeGroup(group);
      }
    } finally {
      this.flushing = undefined;
    }
  }

  private async writeGroup(group: PendingAppend[]): Promise<void> {
    let i = 0;
    while (i < group.length) {
      let seg: Segment;
      try {
        seg = await this.segmentFor(group[i]!.bytes);
      } catch (err) {
        this.fail(group.slice(i), err);
        return;
      }
      const batch: PendingAppend[] = [];
      let size = seg.end;
      for (; i < group.length; i++) {
        const p = group[i]!;
        if (batch.length > 0 && size + p.bytes > this.maxSegmentBytes) break;
        batch.push(p);
        size += p.bytes;
      }
      try {
        await writeAll(
          seg.writer!,
          batch.flatMap((p) => p.parts),
          seg.end,
        );
        await seg.writer!.datasync();
        this.counters.fsyncs++;
      } catch (err) {
        this.fail(group.slice(i - batch.length), err);
        await this.abandonActive(seg);
        return;
      }
      this.counters.bytes += size - seg.end;
      seg.end = size;
      seg.records += batch.length;
      for (const p of batch) p.resolve();
    }
  }

  /** The active segment, rotated first when a record of `bytes` would overflow it. */
  private async segmentFor(bytes: number): Promise<Segment> {
    if (this.active && this.active.end > 0 && this.active.end + bytes > this.maxSegmentBytes)
      await this.readLocked(() => this.sealActive());
    if (this.active) return this.active;
    const seq = this.nextSeq++;
    const file = this.segmentPath(seq);
    const writer = await open(file, 'wx');
    try {
      await syncDir(this.dir); // the new name must survive a crash as well as its bytes
      this.counters.fsyncs++;
    } catch (err) {
      await writer.close().catch(() => undefined);
      await rm(file, { force: true });
      throw err;
    }
    const seg: Segment = { seq, file, end: 0, records: 0, readOffset: 0, consumed: 0, writer };
    this.segments.push(seg);
    this.active = seg;
    return seg;
  }

  /** Stops appending to the active segment; deletes it when every record in it was acknowledged. */
  private async sealActive(): Promise<void> {
    const seg = this.active;
    if (!seg) return;
    this.active = undefined;
    await seg.writer?.close().catch(() => undefined);
    seg.writer = undefined;
    if (seg.readOffset >= seg.end) await this.dropSegment(seg);
  }

  /** After a failed write: cut the segment back to its durable end and append elsewhere from now on. */
  private async abandonActive(seg: Segment): Promise<void> {
    try {
      await seg.writer?.truncate(seg.end);
    } catch (err) {
      this.logger.warn('spool: cannot truncate after a failed write', {
        file: seg.file,
        error: errorMessage(err),
      });
    }
    await this.readLocked(() => this.sealActive());
  }

  private fail(appends: PendingAppend[], err: unknown): void {
    this.logger.error('spool: append failed', {
      dir: this.dir,
      records: appends.length,
      error: errorMessage(err),
    });
    for (const p of appends) {
      this.counters.failed++;
      this.depthRecords--;
      this.depthBytes -= p.bytes;
      p.reject(
        new InfrastructureError(
          `spool append failed: ${errorMessage(err)}`,
          { dir: this.dir },
          { cause: err },
        ),
      );
    }
  }

  // --- reading -------------------------------------------------------------------------------

  /** Runs `fn` after every earlier reader-side operation (peek, ack, segment deletion). */
  private readLocked<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.readChain.then(fn, fn);
    this.readChain = run.catch(() => undefined);
    return run;
  }

  private async readHead(): Promise<SpoolRecord | undefined> {
    if (this.head) return this.head;
    for (;;) {
      const seg = this.segments[0];
      if (!seg) return undefined;
      if (seg.readOffset >= seg.end) {
        if (seg === this.active) return undefined;
        await this.dropSegment(seg);
        continue;
      }
      const fh = await this.readerFor(seg);
      const frame = await readFrame(fh, seg.readOffset, seg.end, true);
      const decoded = frame.kind === 'ok' && frame.payload ? decodePayload(frame.payload) : undefined;
      if (frame.kind === 'ok' && decoded) {
        const id: SpoolRecordId = { segment: seg.seq, offset: seg.readOffset, end: frame.end };
        this.head = { id, ...decoded, bytes: frame.end - seg.readOffset };
        return this.head;
      }
      // The rest of this segment cannot be trusted: skip it as if acknowledged.
      this.counters.corruptSkipped++;
      this.logger.warn('spool: corrupt record, rest of segment skipped', {
        file: seg.file,
        at: seg.readOffset,
        bytes: seg.end - seg.readOffset,
        records: seg.records - seg.consumed,
        why: frame.kind === 'ok' ? 'undecodable payload' : frame.why,
      });
      this.depthRecords -= seg.records - seg.consumed;
      this.depthBytes -= seg.end - seg.readOffset;
      seg.readOffset = seg.end;
      seg.consumed = seg.records;
      this.cursorMoved();
    }
  }

  private async readerFor(seg: Segment): Promise<FileHandle> {
    if (this.reader?.seq === seg.seq) return this.reader.fh;
    if (this.reader) await this.reader.fh.close().catch(() => undefined);
    this.reader = undefined;
    const fh = await open(seg.file, 'r');
    this.reader = { seq: seg.seq, fh };
    return fh;
  }

  /** Forgets and deletes a segment whose records were all acknowledged (or skipped). */
  private async dropSegment(seg: Segment): Promise<void> {
    this.segments = this.segments.filter((s) => s !== seg);
    if (this.reader?.seq === seg.seq) {
      await this.reader.fh.close().catch(() => undefined);
      this.reader = undefined;
    }
    try {
      await rm(seg.file, { force: true });
    } catch (err) {
      this.logger.warn('spool: cannot delete a consumed segment', {
        file: seg.file,
        error: errorMessage(err),
      });
    }
  }

  // --- cursor --------------------------------------------------------------------------------

  private cursorMoved(): void {
    this.cursorDirty = true;
    if (this.state !== 'open' || this.cursorTimer) return;
    if (this.cursorSyncMs <= 0) {
      void this.writeCursor().catch(() => undefined);
      return;
    }
    this.cursorTimer = setTimeout(() => {
      this.cursorTimer = undefined;
      void this.writeCursor().catch(() => undefined);
    }, this.cursorSyncMs);
    this.cursorTimer.unref();
  }

  /** Replaces `cursor` atomically with the current acknowledged position. */
  private writeCursor(): Promise<void> {
    const run = this.cursorChain.then(async () => {
      if (!this.cursorDirty) return;
      this.cursorDirty = false;
      const first = this.segments[0];
      const at: Cursor = first
        ? { segment: first.seq, offset: first.readOffset }
        : { segment: this.nextSeq, offset: 0 };
      const tmp = path.join(this.dir, `${CURSOR}.tmp`);
      try {
        const fh = await open(tmp, 'w');
        try {
          await fh.writeFile(JSON.stringify({ v: 1, ...at }) + '\n');
          await fh.sync();
          this.counters.fsyncs++;
        } finally {
          await fh.close();
        }
        await rename(tmp, path.join(this.dir, CURSOR));
        this.counters.cursorWrites++;
      } catch (err) {
        this.cursorDirty = true;
        this.logger.warn('spool: cannot write the cursor', { dir: this.dir, error: errorMessage(err) });
        throw err;
      }
    });
    this.cursorChain = run.catch(() => undefined);
    return run;
  }

  private closedError(): InfrastructureError {
    return new InfrastructureError(`spool ${this.dir} is closed`, { dir: this.dir });
  }

  private segmentPath(seq: number): string {
    return path.join(this.dir, `seg-${String(seq).padStart(16, '0')}.log`);
  }
}

// ---------------------------------------------------------------------------------------------
// The shape BulkSink uses (its `BatchSpool`): a `_bulk` body and its document count.

/** A spooled `_bulk` batch as the sink replays it; `id` goes back to `ack`. */
export interface SpooledBatch {
  id: string;
  body: string;
  docs: number;
}

/** `Spool` seen as a queue of `_bulk` bodies with their document counts (BulkSink's `BatchSpool`). */
export class DiskSpool {
  readonly spool: Spool;

  private constructor(spool: Spool) {
    this.spool = spool;
  }

  static async open(dir: string, options: SpoolOptions = {}): Promise<DiskSpool> {
    return new DiskSpool(await Spool.open(dir, options));
  }

  append(body: string, docs: number): Promise<void> {
    return this.spool.append({ meta: { docs }, body });
  }

  async peek(): Promise<SpooledBatch | undefined> {
    const rec = await this.spool.peek();
    if (!rec) return undefined;
    const { segment, offset, end } = rec.id;
    const docs = typeof rec.meta.docs === 'number' ? rec.meta.docs : 0;
    return { id: `${segment}:${offset}:${end}`, body: rec.body, docs };
  }

  ack(id: number | string): Promise<void> {
    const m = /^(\d+):(\d+):(\d+)$/.exec(String(id));
    if (!m) return Promise.reject(new Error(`spool: not a record id: ${String(id)}`));
    return this.spool.ack({ segment: Number(m[1]), offset: Number(m[2]), end: Number(m[3]) });
  }

  depth(): SpoolDepth {
    return this.spool.depth();
  }

  stats(): SpoolStats {
    return this.spool.stats();
  }

  close(): Promise<void> {
    return this.spool.close();
  }
}

/**
 * The spool's record format: a frame is `u32le length | u32le crc | payload`, the CRC-32
 * covering the four length bytes and the payload (a zeroed tail never passes); the payload
 * is `u32le metaLength | meta (UTF-8 JSON) | body (UTF-8, verbatim)`. Plus the file
 * helpers the spool writes and reads frames with.
 */
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import zlib from 'node:zlib';
import type { JsonValue, SpoolBatch } from './spool.js';

export const FRAME_HEADER = 8;
export const META_LENGTH = 4;
/** A frame longer than this is never written (and read back as corrupt): 1 GiB. */
export const MAX_PAYLOAD = 1024 * 1024 * 1024;
const IOV_CHUNK = 512;
// ---------------------------------------------------------------------------------------------
// CRC-32 (IEEE, as zlib): zlib.crc32 from Node 20.15 on, a table otherwise.

let table: Uint32Array | undefined;

/** CRC-32 in plain JavaScript; `value` continues an earlier CRC like zlib.crc32's second argument. */
export function crc32Fallback(data: Uint8Array, value = 0): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let crc = (value ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) crc = table[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

const nativeCrc32 = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/** CRC-32 of `data`, continuing `value`. */
export const crc32: (data: Uint8Array, value?: number) => number =
  typeof nativeCrc32 === 'function'
    ? // zlib.crc32 answers 0 for empty data whatever `value` was; an empty input changes nothing.
      (data, value = 0) => (data.length === 0 ? value >>> 0 : nativeCrc32(data, value))
    : crc32Fallback;

// ---------------------------------------------------------------------------------------------
// Framing

/** Encodes a batch as a frame: [header + meta length + meta, body]; written with one writev. */
export function encodeFrame(batch: SpoolBatch): { parts: Buffer[]; bytes: number } {
  const meta = Buffer.from(JSON.stringify(batch.meta), 'utf8');
  const body =
    typeof batch.body === 'string'
      ? Buffer.from(batch.body, 'utf8')
      : Buffer.from(batch.body.buffer, batch.body.byteOffset, batch.body.byteLength);
  const payload = META_LENGTH + meta.length + body.length;
  if (payload > MAX_PAYLOAD) return { parts: [], bytes: FRAME_HEADER + payload };
  const head = Buffer.allocUnsafe(FRAME_HEADER + META_LENGTH + meta.length);
  head.writeUInt32LE(payload, 0);
  head.writeUInt32LE(meta.length, FRAME_HEADER);
  meta.copy(head, FRAME_HEADER + META_LENGTH);
  let crc = crc32(head.subarray(0, 4));
  crc = crc32(head.subarray(FRAME_HEADER), crc);
  crc = crc32(body, crc);
  head.writeUInt32LE(crc, 4);
  return { parts: [head, body], bytes: FRAME_HEADER + payload };
}

export type Frame =
  | { kind: 'ok'; end: number; payload?: Buffer }
  /** Fewer bytes than a frame header or than the length announces. */
  | { kind: 'short'; why: string }
  | { kind: 'corrupt'; why: string };

/** Reads `buf.length` bytes at `position` (fewer only at end of file); returns the count. */
export async function readFully(fh: FileHandle, buf: Buffer, position: number): Promise<number> {
  let got = 0;
  while (got < buf.length) {
    const { bytesRead } = await fh.read(buf, got, buf.length - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got;
}

/** Reads the frame at `offset`, which must end by `limit`; checks the CRC when `verify`. */
export async function readFrame(
  fh: FileHandle,
  offset: number,
  limit: number,
  verify: boolean,
): Promise<Frame> {
  if (limit - offset < FRAME_HEADER) return { kind: 'short', why: 'partial frame header' };
  const head = Buffer.allocUnsafe(FRAME_HEADER);
  if ((await readFully(fh, head, offset)) < FRAME_HEADER)
    return { kind: 'short', why: 'partial frame header' };
  const length = head.readUInt32LE(0);
  if (length < META_LENGTH || length > MAX_PAYLOAD) return { kind: 'corrupt', why: `bad length ${length}` };
  const end = offset + FRAME_HEADER + length;
  if (end > limit) return { kind: 'short', why: `length ${length} runs past the end` };
  if (!verify) return { kind: 'ok', end };
  const payload = Buffer.allocUnsafe(length);
  if ((await readFully(fh, payload, offset + FRAME_HEADER)) < length)
    return { kind: 'short', why: 'partial payload' };
  if (crc32(payload, crc32(head.subarray(0, 4))) !== head.readUInt32LE(4))
    return { kind: 'corrupt', why: 'CRC mismatch' };
  return { kind: 'ok', end, payload };
}

export function decodePayload(
  payload: Buffer,
): { meta: { [key: string]: JsonValue }; body: string } | undefined {
  const metaLength = payload.readUInt32LE(0);
  if (META_LENGTH + metaLength > payload.length) return undefined;
  try {
    const meta: unknown = JSON.parse(payload.toString('utf8', META_LENGTH, META_LENGTH + metaLength));
    if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) return undefined;
    return {
      meta: meta as { [key: string]: JsonValue },
      body: payload.toString('utf8', META_LENGTH + metaLength),
    };
  } catch {
    return undefined;
  }
}

/** Writes all of `parts` at `position` (writev in chunks, finishing partial writes). */
export async function writeAll(fh: FileHandle, parts: Buffer[], position: number): Promise<void> {
  let pos = position;
  for (let i = 0; i < parts.length; i += IOV_CHUNK) {
    const chunk = parts.slice(i, i + IOV_CHUNK);
    const total = chunk.reduce((n, b) => n + b.length, 0);
    let { bytesWritten: skip } = await fh.writev(chunk, pos);
    pos += skip;
    if (skip === total) continue;
    for (const part of chunk) {
      if (skip >= part.length) {
        skip -= part.length;
        continue;
      }
      let rest = part.subarray(skip);
      skip = 0;
      while (rest.length > 0) {
        const { bytesWritten } = await fh.write(rest, 0, rest.length, pos);
        if (bytesWritten === 0) throw new Error('write made no progress');
        pos += bytesWritten;
        rest = rest.subarray(bytesWritten);
      }
    }
  }
}

export function codeOf(err: unknown): string | undefined {
  return (err as { code?: string } | null)?.code;
}

export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

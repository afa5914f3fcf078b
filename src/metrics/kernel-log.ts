/**
 * NVIDIA XID errors from the kernel log. The driver logs each as
 * `NVRM: Xid (PCI:0000:3b:00): 79, pid=…, GPU has fallen off the bus.` (older drivers:
 * `NVRM: Xid (0000:01:00): 13, …`). `/dev/kmsg` gives one record per read(2) as
 * `<prio>,<seq>,<usec>,<flags>[,…];<message>` with continuation lines starting with a
 * space (Documentation/ABI/testing/dev-kmsg); non-blocking, the end is EAGAIN, and EPIPE
 * says records were overwritten before they were read (the next read goes on). `dmesg`
 * prints `[  123.456789] <message>`; both are read here.
 *
 * `KernelLog` keeps its descriptor open: the first read returns the whole ring buffer,
 * every later one only what the kernel logged since. Unreadable (no such device, no
 * permission, dmesg_restrict) is an answer, never an exception.
 */
import { closeSync, constants, openSync, readSync } from 'node:fs';

export interface XidEvent {
  /** The GPU as the driver names it, e.g. `0000:3b:00`. */
  pciBusId: string;
  code: number;
  /** The message after the code, shortened. */
  detail: string;
}

export type KernelLogRead = { events: XidEvent[] } | { unreadable: string };

/** The reader the health watch needs (a fake in tests). */
export interface XidSource {
  read(): KernelLogRead;
  close(): void;
}

const XID =
  /NVRM: Xid \((?:PCI:)?([0-9a-fA-F]+:[0-9a-fA-F]+:[0-9a-fA-F]+)(?:\.[0-9a-fA-F]+)?\): (\d+)(?:, ?(.*))?/;
const KMSG_RECORD = /^\d+,\d+,\d+,[^;]*;(.*)$/;
const DMESG_LINE = /^\[\s*\d+\.\d+\]\s?(.*)$/;

/** The XID in one log line (a /dev/kmsg record, a dmesg line, or a bare message); else undefined. */
export function parseXidLine(line: string): XidEvent | undefined {
  const message = KMSG_RECORD.exec(line)?.[1] ?? DMESG_LINE.exec(line)?.[1] ?? line;
  const m = XID.exec(message);
  if (!m) return undefined;
  return { pciBusId: m[1]!.toLowerCase(), code: Number(m[2]), detail: (m[3] ?? '').trim().slice(0, 200) };
}

/** Every XID in a block of log text (continuation lines of /dev/kmsg records are skipped). */
export function parseXidLines(text: string): XidEvent[] {
  return text
    .split('\n')
    .filter((l) => !l.startsWith(' '))
    .flatMap((l) => parseXidLine(l) ?? []);
}

/** A record is at most this long (the kernel's CONSOLE_EXT_LOG_MAX); a smaller buffer is EINVAL. */
const RECORD_BYTES = 16 * 1024;
/** Reads per call at most: a ring buffer holds a few thousand records. */
const MAX_READS = 100_000;

export class KernelLog implements XidSource {
  private fd: number | undefined;
  private failed: string | undefined;
  private partial = '';
  private readonly buffer = Buffer.alloc(RECORD_BYTES);

  constructor(private readonly file = '/dev/kmsg') {}

  read(): KernelLogRead {
    if (this.failed) return { unreadable: this.failed };
    if (this.fd === undefined) {
      try {
        this.fd = openSync(this.file, constants.O_RDONLY | constants.O_NONBLOCK);
      } catch (err) {
        return this.fail(err);
      }
    }
    const events: XidEvent[] = [];
    for (let i = 0; i < MAX_READS; i++) {
      let n: number;
      try {
        n = readSync(this.fd, this.buffer, 0, this.buffer.length, null);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') break;
        if (code === 'EPIPE') continue;
        return this.fail(err);
      }
      if (n === 0) break; // a regular file at its end
      // A device gives whole records; a file gives chunks, which may split a line.
      const lines = (this.partial + this.buffer.toString('utf8', 0, n)).split('\n');
      this.partial = lines.pop() ?? '';
      events.push(...parseXidLines(lines.join('\n')));
    }
    return { events };
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private fail(err: unknown): KernelLogRead {
    const e = err as NodeJS.ErrnoException;
    this.failed = `${this.file}: ${e.code === 'EACCES' || e.code === 'EPERM' ? 'permission denied' : (e.code ?? e.message)}`;
    this.close();
    return { unreadable: this.failed };
  }
}

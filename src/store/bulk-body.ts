/**
 * A `_bulk` body being built: NDJSON lines encoded to UTF-8 as they are added, into one
 * growing buffer. The documents' strings are garbage as soon as they are added instead of
 * waiting in memory until the batch is sent (a busy sink held ~10,000 of them a batch,
 * long enough to reach the old generation), and the send has no join or encoding left to
 * do. Where each line starts is kept, so the operations Elasticsearch asks to have again
 * (per-item 429) can be picked out.
 */
export class BulkBody {
  private buf: Buffer;
  private len = 0;
  /** Where each line starts; action and document lines alternate, two per operation. */
  private readonly starts: number[] = [];

  constructor(capacity = 16 * 1024) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

  /** A body as the spool keeps it (NDJSON text, one `\n` after every line). */
  static fromText(text: string): BulkBody {
    const body = new BulkBody(0);
    body.buf = Buffer.from(text.endsWith('\n') ? text : `${text}\n`, 'utf8');
    body.len = body.buf.length;
    for (let at = 0; at < body.len;) {
      body.starts.push(at);
      const nl = body.buf.indexOf(0x0a, at);
      at = nl < 0 ? body.len : nl + 1;
    }
    return body;
  }

  /** Operations (pairs of lines). */
  get ops(): number {
    return this.starts.length / 2;
  }

  /** Appends one line and its `\n`; `line` holds no newline (serialized JSON). */
  line(line: string): void {
    // A UTF-16 code unit takes at most 3 bytes of UTF-8 (a surrogate pair: 4 for 2 units).
    const room = line.length * 3 + 1;
    if (this.len + room > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + room));
      this.buf.copy(grown, 0, 0, this.len);
      this.buf = grown;
    }
    this.starts.push(this.len);
    this.len += this.buf.write(line, this.len, 'utf8');
    this.buf[this.len++] = 0x0a;
  }

  /** The NDJSON, every line ending in `\n`; valid until more lines are added. */
  bytes(): Buffer {
    return this.buf.subarray(0, this.len);
  }

  text(): string {
    return this.buf.toString('utf8', 0, this.len);
  }

  /** A body of the operations at `ops` (indexes in this body, ascending). */
  pick(ops: readonly number[]): BulkBody {
    const out = new BulkBody(0);
    const parts: Buffer[] = [];
    let at = 0;
    for (const i of ops) {
      const start = this.starts[2 * i]!;
      const end = 2 * i + 2 < this.starts.length ? this.starts[2 * i + 2]! : this.len;
      out.starts.push(at, at + (this.starts[2 * i + 1]! - start));
      parts.push(this.buf.subarray(start, end));
      at += end - start;
    }
    out.buf = Buffer.concat(parts, at);
    out.len = at;
    return out;
  }
}

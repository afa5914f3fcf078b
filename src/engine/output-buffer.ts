/**
 * Keeps a container stream's output in memory, up to a cap; past it the oldest bytes go.
 * With `onLine`, every complete line is also handed over as it arrives (live metrics).
 */
import { Writable } from 'node:stream';

export class OutputBuffer extends Writable {
  private chunks: Buffer[] = [];
  private bytes = 0;
  truncated = false;

  private partial = '';

  constructor(
    private readonly maxBytes: number,
    private readonly onLine?: (line: string) => void,
  ) {
    super();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.add(chunk);
    done();
  }

  /** Keeps a chunk (and hands over the lines it completes) at once. */
  add(chunk: Buffer): void {
    if (this.onLine) this.splitLines(chunk);
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    while (this.bytes > this.maxBytes && this.chunks.length > 1) {
      this.bytes -= this.chunks.shift()!.length;
      this.truncated = true;
    }
  }

  private splitLines(chunk: Buffer): void {
    const lines = (this.partial + chunk.toString('utf8')).split('\n');
    this.partial = lines.pop()!.slice(-65_536);
    for (const line of lines) this.onLine!(line);
  }

  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

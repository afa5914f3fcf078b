/**
 * Splits a byte stream of newline-delimited JSON (the engine's `/events`) into lines.
 * Chunks end anywhere: mid-line, mid-object, even inside a multi-byte UTF-8 character.
 */
import { StringDecoder } from 'node:string_decoder';

/** @default 1 MiB: an event is a few hundred bytes; anything longer is garbage. */
const MAX_LINE_CHARS = 1024 * 1024;

export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';
  /** True while the rest of an overlong line is skipped. */
  private skipping = false;
  /** Lines given up on because they exceeded the cap. */
  overlong = 0;

  constructor(private readonly maxLineChars = MAX_LINE_CHARS) {}

  /** The complete lines this chunk finishes, without their `\n` (or `\r\n`); blank lines left out. */
  push(chunk: Buffer | string): string[] {
    const text = typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    const parts = (this.partial + text).split('\n');
    this.partial = parts.pop()!;
    const lines: string[] = [];
    for (const part of parts) {
      if (this.skipping) {
        this.skipping = false; // the overlong line ends here
        continue;
      }
      const line = part.endsWith('\r') ? part.slice(0, -1) : part;
      if (line.trim() !== '') lines.push(line);
    }
    if (this.partial.length > this.maxLineChars) {
      this.partial = '';
      if (!this.skipping) this.overlong++;
      this.skipping = true;
    }
    return lines;
  }

  /** What is left when the stream ends: a last line without a newline, if any. */
  end(): string[] {
    const rest = this.partial + this.decoder.end();
    this.partial = '';
    const skipped = this.skipping;
    this.skipping = false;
    return !skipped && rest.trim() !== '' ? [rest.replace(/\r$/, '')] : [];
  }
}

/**
 * One Server-Sent Events connection: events as `event:`/`data:` frames, comments as
 * heartbeats, and a bound on what may wait in the socket: a client that does not read
 * is dropped rather than buffered for without limit.
 */
import type { ServerResponse } from 'node:http';

export class SseClient {
  /** False: the client does not want `samples` events (a list of runs shows progress only). */
  wantsSamples = true;
  private closed = false;
  /** Events held back until the client's snapshot is written (see LiveHub.attach). */
  private held: string[] | undefined = [];

  constructor(
    private readonly res: ServerResponse,
    private readonly maxBufferedBytes: number,
    private readonly onClose: () => void,
  ) {
    res.on('close', () => this.dispose());
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** True once the snapshot is written: events flow directly. */
  get isReleased(): boolean {
    return this.held === undefined;
  }

  /** Writes the response head; events sent before `release` are held back. */
  open(): void {
    this.res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    this.res.flushHeaders();
  }

  /** Sends `frame` first, then what was held back; events flow directly from now on. */
  release(frame: string): void {
    const held = this.held ?? [];
    this.held = undefined;
    this.write(frame);
    for (const f of held) this.write(f);
  }

  send(event: string, data: unknown): void {
    const frame = sseFrame(event, data);
    if (this.held) this.held.push(frame);
    else this.write(frame);
  }

  heartbeat(): void {
    if (!this.held) this.write(': heartbeat\n\n');
  }

  /** Ends the stream (the response completes). */
  end(): void {
    if (this.closed) return;
    this.res.end();
    this.dispose();
  }

  private write(frame: string): void {
    if (this.closed) return;
    if (this.res.writableLength + frame.length > this.maxBufferedBytes) {
      // A stalled reader: cut it off; EventSource reconnects and starts from a snapshot.
      this.res.destroy();
      this.dispose();
      return;
    }
    this.res.write(frame);
  }

  private dispose(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
  }
}

export function sseFrame(event: string, data: unknown): string {
  // JSON.stringify escapes newlines, so the data is always one `data:` line.
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

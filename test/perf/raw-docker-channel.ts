/**
 * A Docker API request written by hand on a `direct-streamlocal@openssh.com` channel of an
 * ssh2 connection: no dockerode, no http.Agent, no HTTP parser beyond finding where the
 * answer ends. The floor perf:ssh compares benchyard's path against.
 */
import type { Client, ClientChannel } from 'ssh2';

/** Where a complete HTTP/1.1 response ends in `buf`, or -1 (Content-Length or chunked bodies). */
export function responseEnd(buf: Buffer): number {
  const head = buf.indexOf('\r\n\r\n');
  if (head < 0) return -1;
  const headers = buf.subarray(0, head).toString('latin1');
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(headers);
  if (length) {
    const end = head + 4 + Number(length[1]);
    return buf.length >= end ? end : -1;
  }
  if (/\r\ntransfer-encoding:\s*chunked/i.test(headers)) {
    const last = buf.indexOf('\r\n0\r\n\r\n', head);
    return last < 0 ? -1 : last + 7;
  }
  return -1;
}

function open(conn: Client, socket: string): Promise<ClientChannel> {
  return new Promise((resolve, reject) =>
    conn.openssh_forwardOutStreamLocal(socket, (err, ch) => (err ? reject(err) : resolve(ch))),
  );
}

/** Writes `request` (headers, no blank line yet) and resolves with the whole response. */
function exchange(ch: ClientChannel, request: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let buf: Buffer = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      const end = responseEnd(buf);
      if (end < 0) return;
      done();
      if (!buf.subarray(0, 12).toString('latin1').startsWith('HTTP/1.1 200'))
        reject(new Error(`unexpected answer: ${buf.subarray(0, 80).toString('latin1')}`));
      else resolve(buf.subarray(0, end));
    };
    const onClose = () => {
      done();
      reject(new Error('channel closed before the answer was complete'));
    };
    const done = () => {
      ch.off('data', onData);
      ch.off('close', onClose);
    };
    ch.on('data', onData);
    ch.once('close', onClose);
    ch.write(`${request}\r\n`);
  });
}

/** One request on a channel of its own, opened for it and closed after (as `Connection: close`). */
export async function rawRequest(conn: Client, socket: string, request: string): Promise<Buffer> {
  const ch = await open(conn, socket);
  try {
    return await exchange(ch, `${request}Connection: close\r\n`);
  } finally {
    ch.close();
  }
}

/** Requests one after another on one channel kept open (HTTP/1.1 keep-alive). */
export class RawKeepAlive {
  private ch: Promise<ClientChannel> | undefined;

  constructor(
    private readonly conn: Client,
    private readonly socket: string,
    private readonly req: string,
  ) {}

  async request(): Promise<Buffer> {
    this.ch ??= open(this.conn, this.socket);
    return exchange(await this.ch, this.req);
  }

  close(): void {
    void this.ch?.then((ch) => ch.close());
  }
}

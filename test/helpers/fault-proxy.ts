/**
 * A small HTTP proxy in front of the real Elasticsearch that injects faults into `_bulk`
 * requests: whole-request 429/503 answers, a closed connection, or a real answer in which
 * some items are turned into 429s (those documents were stored; resending them must give
 * 409s, never duplicates). Every other request passes through untouched.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

export type Fault = 'pass' | 429 | 503 | 'reset' | 'items429';

export interface FaultProxy {
  url: string;
  /** Bulk requests seen, and the faults injected, by kind. */
  seen: { bulk: number; injected: Record<string, number> };
  close(): Promise<void>;
}

/** `decide(n)` picks the fault for the n-th `_bulk` request (1-based). */
export async function startFaultProxy(target: string, decide: (n: number) => Fault): Promise<FaultProxy> {
  const seen = { bulk: 0, injected: {} as Record<string, number> };
  const upstream = new URL(target);
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const isBulk = req.url?.startsWith('/_bulk') ?? false;
      const fault: Fault = isBulk ? decide(++seen.bulk) : 'pass';
      if (fault !== 'pass') seen.injected[String(fault)] = (seen.injected[String(fault)] ?? 0) + 1;
      if (fault === 'reset') return req.socket.destroy();
      if (fault === 429 || fault === 503) {
        res.writeHead(fault, { 'content-type': 'application/json', 'x-elastic-product': 'Elasticsearch' });
        return res.end(
          JSON.stringify({ error: { type: 'injected', reason: `injected ${fault}` }, status: fault }),
        );
      }
      const headers = { ...req.headers, host: upstream.host };
      if (fault === 'items429') delete headers['accept-encoding'];
      const up = http.request(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers },
        (upRes) => {
          if (fault !== 'items429') {
            res.writeHead(upRes.statusCode ?? 502, upRes.headers);
            return upRes.pipe(res);
          }
          const parts: Buffer[] = [];
          upRes.on('data', (c: Buffer) => parts.push(c));
          upRes.on('end', () => {
            let raw = Buffer.concat(parts);
            if (upRes.headers['content-encoding'] === 'gzip') raw = gunzipSync(raw);
            const answer = JSON.parse(raw.toString('utf8')) as {
              errors: boolean;
              items: Record<string, { status: number; error?: object }>[];
            };
            // Every other item "refused": the client must send those again.
            answer.items.forEach((item, i) => {
              if (i % 2 === 1) {
                const r = Object.values(item)[0]!;
                r.status = 429;
                r.error = { type: 'es_rejected_execution_exception', reason: 'injected' };
                answer.errors = true;
              }
            });
            const out = JSON.stringify(answer);
            res.writeHead(200, {
              'content-type': 'application/json',
              'x-elastic-product': 'Elasticsearch',
              'content-length': Buffer.byteLength(out),
            });
            res.end(out);
          });
        },
      );
      up.on('error', () => req.socket.destroy());
      up.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

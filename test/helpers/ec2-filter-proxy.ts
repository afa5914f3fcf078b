/**
 * A misbehaving gateway in front of moto, for the ways an EC2-compatible endpoint can
 * answer with more, or other, than was asked for. The SDK speaks the EC2 query protocol: a
 * form-encoded POST such as `Action=DescribeInstances&Filter.1.Name=tag:k&Filter.1.Value.1=v`.
 *
 * - `dropFilters`: every `Filter.N.*` parameter is removed before moto sees it, as an API
 *   that ignores filters does (an EC2 emulator ignored `tag:` filters and returned every
 *   instance: ministackorg/ministack#425). moto then answers with the whole region.
 * - `lowerCaseTags`: tag keys and values come back lower-cased. Real EC2 never does this
 *   (EC2 API reference, `Tag`: keys and values are case-sensitive; no report found of EC2
 *   re-casing them); it stands for a hostile or broken gateway, the case SoftLayer is
 *   reported to have, so that a re-cased answer is shown to prove nothing.
 * - `loseRunInstancesAnswer`: RunInstances reaches moto, but the caller gets a 500
 *   `InternalError` (EC2's "an internal error has occurred"), as when a connection drops
 *   after EC2 acted. A retry with the same ClientToken is not forwarded again: real EC2
 *   answers it with the same instance (idempotency), which moto does not implement.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Ec2GatewayModes {
  dropFilters: boolean;
  lowerCaseTags: boolean;
  loseRunInstancesAnswer: boolean;
}

export interface Ec2Gateway {
  url: string;
  /** Switched on and off by the tests while it runs. */
  modes: Ec2GatewayModes;
  /** Per action, how many `Filter.*` parameters were dropped: proof that the mode bit. */
  dropped: Map<string, number>;
  /** Instances moto created for RunInstances calls whose answer was lost. */
  lostInstances: string[];
  close(): Promise<void>;
}

const LOST_ANSWER = `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>InternalError</Code><Message>An internal error has occurred</Message></Error></Errors><RequestID>00000000-0000-0000-0000-000000000000</RequestID></Response>`;

export async function startEc2Gateway(
  upstream: string,
  modes: Partial<Ec2GatewayModes> = {},
): Promise<Ec2Gateway> {
  const target = new URL(upstream);
  const gateway: Omit<Ec2Gateway, 'url' | 'close'> = {
    modes: { dropFilters: false, lowerCaseTags: false, loseRunInstancesAnswer: false, ...modes },
    dropped: new Map(),
    lostInstances: [],
  };
  const tokensSeen = new Set<string>();
  const forward = (
    req: http.IncomingMessage,
    body: Buffer,
  ): Promise<{ res: http.IncomingMessage; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const up = http.request(
        {
          host: target.hostname,
          port: target.port,
          path: req.url,
          method: req.method,
          headers: { ...req.headers, host: target.host, 'content-length': String(body.length) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ res, body: Buffer.concat(chunks) }));
          res.on('error', reject);
        },
      );
      up.on('error', reject);
      up.end(body);
    });

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const params = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
        const action = params.get('Action') ?? '';
        if (gateway.modes.dropFilters) {
          const names = [...params.keys()].filter((k) => /^Filter\.\d+\./.test(k));
          for (const k of names) params.delete(k);
          if (names.length) gateway.dropped.set(action, (gateway.dropped.get(action) ?? 0) + names.length);
        }
        const body = Buffer.from(params.toString(), 'utf8');
        if (action === 'RunInstances' && gateway.modes.loseRunInstancesAnswer) {
          const token = params.get('ClientToken') ?? '';
          if (!tokensSeen.has(token)) {
            tokensSeen.add(token);
            const created = await forward(req, body);
            const id = /<instanceId>([^<]+)<\/instanceId>/.exec(created.body.toString('utf8'))?.[1];
            if (id) gateway.lostInstances.push(id);
          }
          res.writeHead(500, { 'content-type': 'text/xml;charset=UTF-8' });
          return res.end(LOST_ANSWER);
        }
        const answer = await forward(req, body);
        let out = answer.body;
        if (gateway.modes.lowerCaseTags) out = Buffer.from(lowerCaseTagSets(out.toString('utf8')), 'utf8');
        const headers = { ...answer.res.headers, 'content-length': String(out.length) };
        delete headers['transfer-encoding'];
        res.writeHead(answer.res.statusCode ?? 502, headers);
        res.end(out);
      })().catch(() => res.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    ...gateway,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Lower-cases every `<key>` and `<value>` inside the `<tagSet>`s of an EC2 XML answer. */
export function lowerCaseTagSets(xml: string): string {
  return xml.replace(/<tagSet>[\s\S]*?<\/tagSet>/g, (set) =>
    set.replace(
      /<(key|value)>([^<]*)<\/\1>/g,
      (_m, el: string, text: string) => `<${el}>${text.toLowerCase()}</${el}>`,
    ),
  );
}

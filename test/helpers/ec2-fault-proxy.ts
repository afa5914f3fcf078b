/**
 * A proxy in front of moto that answers chosen RunInstances calls with the EC2 error
 * response real EC2 gives (moto has no capacity or quota errors). The SDK speaks the EC2
 * query protocol: a form-encoded POST with `Action=RunInstances&InstanceType=…&
 * Placement.AvailabilityZone=…`. Everything else passes through untouched.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Ec2Fault {
  code: string;
  message: string;
  /** EC2 answers capacity errors as server errors (500), quota errors as client errors (400). */
  status: number;
}

export const INSUFFICIENT_CAPACITY: Ec2Fault = {
  code: 'InsufficientInstanceCapacity',
  message: 'We currently do not have sufficient capacity in the Availability Zone you requested.',
  status: 500,
};
export const INSTANCE_LIMIT: Ec2Fault = {
  code: 'InstanceLimitExceeded',
  message:
    'You have requested more instances than your current instance limit allows for the specified instance type.',
  status: 400,
};

export interface RunInstancesCall {
  region: string;
  instanceType: string;
  zone?: string;
  params: URLSearchParams;
  fault?: string;
}

export interface Ec2FaultProxy {
  url: string;
  calls: RunInstancesCall[];
  close(): Promise<void>;
}

export async function startEc2FaultProxy(
  upstream: string,
  decide: (call: RunInstancesCall) => Ec2Fault | undefined,
): Promise<Ec2FaultProxy> {
  const calls: RunInstancesCall[] = [];
  const target = new URL(upstream);
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const params = new URLSearchParams(body.toString('utf8'));
      if (params.get('Action') === 'RunInstances') {
        const region =
          /Credential=[^/]+\/\d+\/([^/]+)\//.exec(req.headers.authorization ?? '')?.[1] ?? 'us-east-1';
        const zone = params.get('Placement.AvailabilityZone') ?? undefined;
        const call: RunInstancesCall = {
          region,
          instanceType: params.get('InstanceType') ?? '',
          ...(zone ? { zone } : {}),
          params,
        };
        calls.push(call);
        const fault = decide(call);
        if (fault) {
          call.fault = fault.code;
          res.writeHead(fault.status, { 'content-type': 'text/xml;charset=UTF-8' });
          return res.end(
            `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${fault.code}</Code><Message>${fault.message}</Message></Error></Errors><RequestID>00000000-0000-0000-0000-000000000000</RequestID></Response>`,
          );
        }
      }
      const up = http.request(
        {
          host: target.hostname,
          port: target.port,
          path: req.url,
          method: req.method,
          headers: { ...req.headers, host: target.host },
        },
        (upRes) => {
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          upRes.pipe(res);
        },
      );
      up.on('error', () => res.destroy());
      up.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

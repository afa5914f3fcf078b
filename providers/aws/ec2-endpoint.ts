/**
 * One EC2 endpoint of one region: the SDK client, the address it talks to (named in every
 * error), and the calls the provider reads instances with. An endpoint that does not
 * answer becomes an `InfrastructureError` saying which endpoint of which region, and
 * missing credentials an `InputError`: never a bare `connect ECONNREFUSED` or
 * `CredentialsProviderError` that the CLI would show as an internal error with a stack.
 */
import {
  DescribeInstancesCommand,
  EC2Client,
  type DescribeInstancesCommandInput,
  type Instance,
} from '@aws-sdk/client-ec2';
import { InfrastructureError, InputError, errorMessage, type BenchyardError } from '../../src/core/index.js';
import { errorCode } from './failures.js';

/** Socket-level failures: the request got no HTTP answer at all. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'TimeoutError',
]);

export class Ec2Endpoint {
  constructor(
    readonly client: EC2Client,
    readonly region: string,
    /** What the client talks to, for messages: the configured URL or AWS's own. */
    readonly address: string,
  ) {}

  /** Runs one SDK call; a failure to reach the endpoint or to sign the request is named as such. */
  async call<T>(request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (err) {
      throw this.explain(err) ?? err;
    }
  }

  /**
   * The error to throw when `err` is not an answer of EC2 but a failure before one: the
   * endpoint did not answer (infrastructure), or the SDK found no credentials to sign with
   * (input: nothing was sent). `undefined` for EC2's own errors and for cancellations.
   */
  explain(err: unknown): BenchyardError | undefined {
    const where = `EC2 endpoint ${this.address} (${this.region})`;
    const meta = { endpoint: this.address, region: this.region, code: errorCode(err) };
    if ((err as Error | undefined)?.name === 'CredentialsProviderError')
      return new InputError(
        `aws: no credentials to call ${where}: ${errorMessage(err)} (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE)`,
        meta,
        { cause: err },
      );
    if (isNetworkFailure(err))
      return new InfrastructureError(`aws: ${where} is unreachable: ${errorMessage(err)}`, meta, {
        cause: err,
      });
    return undefined;
  }

  /** Every instance of every page of the answer. */
  async instances(input: DescribeInstancesCommandInput, signal?: AbortSignal): Promise<Instance[]> {
    const all: Instance[] = [];
    let NextToken: string | undefined;
    do {
      const page = await this.call(() =>
        this.client.send(
          new DescribeInstancesCommand({ ...input, ...(NextToken ? { NextToken } : {}) }),
          signal ? { abortSignal: signal } : {},
        ),
      );
      for (const r of page.Reservations ?? []) all.push(...(r.Instances ?? []));
      NextToken = page.NextToken;
    } while (NextToken);
    return all;
  }

  /**
   * The instance with this id as EC2 returned it, picked by its id from the answer (an API
   * may answer with more than was asked for); `undefined` once EC2 no longer knows it.
   */
  async instance(id: string, signal?: AbortSignal): Promise<Instance | undefined> {
    try {
      const found = (await this.instances({ InstanceIds: [id] }, signal)).find((i) => i.InstanceId === id);
      if (!found)
        throw new InfrastructureError(
          `aws: EC2 endpoint ${this.address} (${this.region}) answered DescribeInstances for ${id} without it`,
          { instance: id, endpoint: this.address, region: this.region },
        );
      return found;
    } catch (err) {
      if (errorCode(err) === 'InvalidInstanceID.NotFound') return undefined;
      throw err;
    }
  }
}

/** The address an SDK client with this configuration talks to. */
export function endpointAddress(region: string, endpoint: string | undefined): string {
  return (
    endpoint ??
    process.env.AWS_ENDPOINT_URL_EC2 ??
    process.env.AWS_ENDPOINT_URL ??
    `https://ec2.${region}.amazonaws.com`
  );
}

function isNetworkFailure(err: unknown): boolean {
  const status = (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  if (status !== undefined) return false;
  const code = errorCode(err);
  return code !== undefined && NETWORK_CODES.has(code);
}

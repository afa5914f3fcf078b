/**
 * A small client for the Docker Registry HTTP API v2 (distribution), on `fetch`: ping
 * `/v2/`, the digest of a manifest (HEAD, by tag or digest), and a repository's tags. It
 * speaks plain HTTP to registries near the machines (no auth); transient answers (5xx,
 * 429, a reset or refused connection while the registry starts) are retried with backoff.
 */
import { InfrastructureError, silentLogger, systemClock, type Clock, type Logger } from '../core/index.js';
import { TransientFailure, withRetries, type RetryPolicy } from './retry.js';

/** Every manifest type an engine may push: asking for all of them stops any conversion. */
export const MANIFEST_ACCEPT = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
].join(', ');

export interface RegistryClientOptions extends RetryPolicy {
  /**
   * How long one request may take.
   * @default 10000
   */
  requestTimeoutMs?: number;
  clock?: Clock;
  logger?: Logger;
  /** For tests. @default globalThis.fetch */
  fetch?: typeof fetch;
}

/** `host:port` with nothing else: what Docker expects in front of a repository name. */
export function checkRegistryAddress(registry: string): string {
  if (!/^[a-z0-9.-]+(:\d{1,5})?$/i.test(registry) && !/^\[[0-9a-f:]+\](:\d{1,5})?$/i.test(registry))
    throw new InfrastructureError(
      `registry address must be HOST:PORT (no scheme, no path), got '${registry}'`,
      {
        registry,
      },
    );
  return registry;
}

export class RegistryClient {
  readonly registry: string;
  private readonly base: string;
  private readonly opts: RegistryClientOptions;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly fetchFn: typeof fetch;

  /** `registry` is `host:port`, as in image references (`127.0.0.1:5000`). */
  constructor(registry: string, opts: RegistryClientOptions = {}) {
    this.registry = checkRegistryAddress(registry);
    this.base = `http://${registry}`;
    this.opts = opts;
    this.clock = opts.clock ?? systemClock;
    this.logger = opts.logger ?? silentLogger;
    this.fetchFn = opts.fetch ?? globalThis.fetch;
  }

  /** Resolves once the registry answers `GET /v2/` with 200 (and says it speaks v2). */
  async ping(signal?: AbortSignal): Promise<void> {
    const res = await this.request('GET', '/v2/', {}, signal);
    await res.arrayBuffer();
    if (res.status !== 200)
      throw this.failure(
        'GET /v2/',
        res,
        res.status === 401 ? 'the registry wants credentials (unsupported)' : '',
      );
    if (!res.headers.get('docker-distribution-api-version')?.startsWith('registry/2'))
      throw this.failure('GET /v2/', res, 'no Docker-Distribution-Api-Version: registry/2.0 header');
  }

  /**
   * The content digest (`sha256:…`) of `repo`'s manifest for `reference` (a tag or a
   * digest), from `Docker-Content-Digest`; `undefined` when the registry has none.
   */
  async manifestDigest(repo: string, reference: string, signal?: AbortSignal): Promise<string | undefined> {
    const path = `/v2/${repo}/manifests/${reference}`;
    const res = await this.request('HEAD', path, { accept: MANIFEST_ACCEPT }, signal);
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw this.failure(`HEAD ${path}`, res);
    const digest = res.headers.get('docker-content-digest');
    if (!digest?.startsWith('sha256:'))
      throw this.failure(`HEAD ${path}`, res, 'answer without a Docker-Content-Digest header');
    return digest;
  }

  /** The tags of `repo`, sorted; `[]` when the registry does not know the repository. */
  async listTags(repo: string, signal?: AbortSignal): Promise<string[]> {
    const path = `/v2/${repo}/tags/list`;
    const res = await this.request('GET', path, {}, signal);
    if (res.status === 404) return [];
    if (res.status !== 200) throw this.failure(`GET ${path}`, res);
    const body = (await res.json()) as { tags?: string[] | null };
    return [...(body.tags ?? [])].sort();
  }

  /** One request, retried while the answer is transient; other answers go to the caller. */
  private request(
    method: 'GET' | 'HEAD',
    path: string,
    headers: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<Response> {
    const what = `registry ${this.registry}: ${method} ${path}`;
    const timeout = this.opts.requestTimeoutMs ?? 10_000;
    return withRetries(
      what,
      async () => {
        const signals = [AbortSignal.timeout(timeout), ...(signal ? [signal] : [])];
        const res = await this.fetchFn(`${this.base}${path}`, {
          method,
          headers,
          signal: AbortSignal.any(signals),
        });
        if (res.status >= 500 || res.status === 429) {
          await res.body?.cancel();
          const retryAfter = Number(res.headers.get('retry-after'));
          throw new TransientFailure({
            reason: `HTTP ${res.status} ${res.statusText}`.trim(),
            status: res.status,
            ...(retryAfter > 0 ? { retryAfterMs: retryAfter * 1000 } : {}),
          });
        }
        return res;
      },
      this.opts,
      { clock: this.clock, logger: this.logger, ...(signal ? { signal } : {}) },
      { registry: this.registry },
    );
  }

  private failure(what: string, res: Response, detail = ''): InfrastructureError {
    if (!res.bodyUsed) void res.body?.cancel().catch(() => undefined);
    return new InfrastructureError(
      `registry ${this.registry}: ${what} answered HTTP ${res.status}${detail ? `: ${detail}` : ''}`,
      { registry: this.registry, status: res.status },
    );
  }
}

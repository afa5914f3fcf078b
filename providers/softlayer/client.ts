/**
 * A small client for the SoftLayer REST API (https://sldn.softlayer.com/article/rest/).
 *
 * Requests are built the way softlayer-python's `RestTransport` builds them:
 * `<endpoint>/<Service>[/<id>]/<method>.json`, `GET` when there are no parameters, `POST`
 * with `{"parameters": [...]}` when there are (the API ignores a body sent with GET), and
 * `deleteObject` as a GET of that URL (the REST article: "will get you the same result" as
 * DELETE; softlayer-python dropped DELETE because `DELETE …/deleteObject.json` answers 404,
 * softlayer-python issue #962). The object mask goes in `objectMask` (wrapped in `mask[…]`
 * unless it already is), the filter as JSON in `objectFilter`, paging in
 * `resultLimit=<offset>,<limit>`. Authentication is HTTP basic with user name and API key.
 *
 * Rate limiting (`SoftLayer_Exception_WebService_RateLimitExceeded`, "Rate limit of 50
 * requests for every 1 second(s) exceeded.") is retried with exponential backoff and jitter,
 * as softlayer-go does (`retryableErrorCodes`); so are gateway errors and dropped connections,
 * but only for calls that are safe to repeat.
 */
import { registerSecret, type Clock, type Logger } from '../../src/core/index.js';
import { RATE_LIMITED, SoftlayerApiError, SoftlayerTransportError, neverSent } from './errors.js';

export interface SoftlayerClientOptions {
  /** REST base, e.g. `https://api.softlayer.com/rest/v3.1/`. */
  endpoint: string;
  username: string;
  /** Sent only in the Authorization header; never logged, never in an error. */
  apiKey: string;
  fetch?: typeof fetch;
  clock: Clock;
  logger: Logger;
  /** Tries per call for retriable failures. @default 6 */
  maxAttempts?: number;
  /** First backoff; doubles per retry, with jitter. @default 1000 */
  baseDelayMs?: number;
  /** @default 30000 */
  maxDelayMs?: number;
  /** One request's time limit (softlayer-go `DefaultTimeout`). @default 120000 */
  requestTimeoutMs?: number;
  random?: () => number;
}

export interface CallOptions {
  /** The initialization parameter: an object id (or a hardware globalIdentifier). */
  id?: number | string;
  params?: readonly unknown[];
  /** Object mask: `mask[…]`, or the short form `id,hostname,datacenter[name]`. */
  mask?: string;
  filter?: Record<string, unknown>;
  limit?: { offset: number; limit: number };
  /** Also retry failures after which the call may have been carried out (default: `get*` methods). */
  idempotent?: boolean;
  signal: AbortSignal;
}

export class SoftlayerClient {
  readonly endpoint: string;
  private readonly fetchFn: typeof fetch;
  private readonly authorization: string;

  constructor(private readonly options: SoftlayerClientOptions) {
    this.endpoint = options.endpoint.replace(/\/*$/, '/');
    this.fetchFn = options.fetch ?? fetch;
    registerSecret(options.apiKey); // from now on `redact` masks it wherever it turns up
    this.authorization = `Basic ${Buffer.from(`${options.username}:${options.apiKey}`).toString('base64')}`;
  }

  /** Calls `service::method` and resolves with its decoded JSON result. */
  async call<T>(service: string, method: string, opts: CallOptions): Promise<T> {
    const name = `${service}::${method}`;
    const maxAttempts = this.options.maxAttempts ?? 6;
    const idempotent = opts.idempotent ?? method.startsWith('get');
    for (let attempt = 1; ; attempt++) {
      opts.signal.throwIfAborted();
      try {
        return await this.once<T>(service, method, opts);
      } catch (err) {
        if (opts.signal.aborted) throw opts.signal.reason;
        if (attempt >= maxAttempts || !retriable(err, idempotent)) throw err;
        const delay = this.backoff(attempt);
        this.options.logger.warn(`softlayer ${name} failed, retrying in ${delay}ms`, {
          attempt,
          error: (err as Error).message,
        });
        await this.options.clock.sleep(delay, opts.signal);
      }
    }
  }

  /** Every item of a list method, fetched `pageSize` at a time with `resultLimit`. */
  async list<T>(service: string, method: string, opts: Omit<CallOptions, 'limit'> & { pageSize?: number }) {
    const pageSize = opts.pageSize ?? 100;
    const all: T[] = [];
    for (let offset = 0; ; offset += pageSize) {
      const page = await this.call<T[]>(service, method, { ...opts, limit: { offset, limit: pageSize } });
      all.push(...page);
      if (page.length < pageSize) return all;
    }
  }

  private async once<T>(service: string, method: string, opts: CallOptions): Promise<T> {
    const name = `${service}::${method}`;
    const url = this.url(service, method, opts);
    const hasParams = (opts.params?.length ?? 0) > 0;
    const timeout = AbortSignal.timeout(this.options.requestTimeoutMs ?? 120_000);
    this.options.logger.debug(`softlayer ${name}`, { id: opts.id });
    let res: Response;
    let text: string;
    try {
      res = await this.fetchFn(url, {
        method: hasParams || method === 'createObject' ? 'POST' : 'GET',
        headers: {
          authorization: this.authorization,
          accept: 'application/json',
          ...(hasParams ? { 'content-type': 'application/json' } : {}),
        },
        ...(hasParams ? { body: JSON.stringify({ parameters: opts.params }) } : {}),
        signal: AbortSignal.any([opts.signal, timeout]),
      });
      text = await res.text();
    } catch (err) {
      if (opts.signal.aborted) throw opts.signal.reason;
      const why = timeout.aborted ? 'timed out' : describeNetworkError(err);
      throw new SoftlayerTransportError(
        `SoftLayer ${name} at ${this.endpoint}: ${this.scrub(why)}`,
        name,
        !timeout.aborted && neverSent(err),
        { cause: err },
      );
    }
    const body = parseJson(text);
    const fault = asFault(body);
    if (!res.ok || fault) {
      const message =
        fault?.error ??
        (text.trim() ? `HTTP ${res.status}: ${text.trim().slice(0, 200)}` : `HTTP ${res.status}`);
      throw new SoftlayerApiError(this.scrub(message), fault?.code, res.status, name);
    }
    if (body === undefined)
      throw new SoftlayerApiError('empty or malformed reply', undefined, res.status, name);
    return body as T;
  }

  private url(service: string, method: string, opts: CallOptions): string {
    const id = opts.id === undefined ? '' : `/${encodeURIComponent(String(opts.id))}`;
    const query = new URLSearchParams();
    if (opts.mask) query.set('objectMask', formatMask(opts.mask));
    if (opts.filter) query.set('objectFilter', JSON.stringify(opts.filter));
    if (opts.limit) query.set('resultLimit', `${opts.limit.offset},${opts.limit.limit}`);
    const qs = query.size ? `?${query}` : '';
    return `${this.endpoint}${service}${id}/${method}.json${qs}`;
  }

  private backoff(attempt: number): number {
    const cap = Math.min(
      this.options.maxDelayMs ?? 30_000,
      (this.options.baseDelayMs ?? 1000) * 2 ** (attempt - 1),
    );
    return Math.round(cap / 2 + (cap / 2) * (this.options.random ?? Math.random)());
  }

  /** Belt and braces: the API never echoes the key, but nothing it says may carry it on. */
  private scrub(text: string): string {
    return this.options.apiKey ? text.split(this.options.apiKey).join('***') : text;
  }
}

/** softlayer-python `_format_object_mask`: wrap a bare mask in `mask[…]`. */
export function formatMask(mask: string): string {
  const m = mask.trim();
  return m.startsWith('mask') || m.startsWith('[') || m.startsWith('filteredMask') ? m : `mask[${m}]`;
}

function retriable(err: unknown, idempotent: boolean): boolean {
  if (err instanceof SoftlayerApiError) {
    if (err.code === RATE_LIMITED || err.status === 429) return true;
    // An exception reply is a definite answer; gateway errors (no SoftLayer code) may not be.
    return idempotent && err.code === undefined && (err.status >= 500 || err.status === 408);
  }
  return idempotent && err instanceof SoftlayerTransportError;
}

function parseJson(text: string): unknown {
  if (!text.trim()) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** `{"error": …, "code": …}`; a 2xx reply can carry one too (softlayer-go `findResponseError`). */
function asFault(body: unknown): { error: string; code?: string } | undefined {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return undefined;
  const { error, code } = body as { error?: unknown; code?: unknown };
  if (typeof error !== 'string') return undefined;
  const keys = Object.keys(body);
  if (keys.some((k) => k !== 'error' && k !== 'code')) return undefined;
  return { error, ...(typeof code === 'string' ? { code } : {}) };
}

function describeNetworkError(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err as Error).message ?? String(err);
}

/**
 * Bounded retries with exponential backoff for talking to a Docker registry, directly or
 * through an engine. Only what a retry can cure is retried (5xx, 429, a reset or refused
 * connection, a timeout); everything else fails at once. Each retry is logged; giving up
 * raises an InfrastructureError that names the operation and the last failure.
 */
import { InfrastructureError, InputError, type Clock, type Logger } from '../core/index.js';

export interface RetryPolicy {
  /**
   * Attempts in all, the first included.
   * @default 5
   */
  attempts?: number;
  /**
   * Wait before the first retry; doubled before each further one.
   * @default 250
   */
  baseDelayMs?: number;
  /**
   * Longest wait between attempts (a Retry-After header is capped by it too).
   * @default 8000
   */
  maxDelayMs?: number;
}

export interface RetryDeps {
  clock: Clock;
  logger: Logger;
  signal?: AbortSignal;
}

/** Why an attempt may succeed if repeated; `undefined` for failures a retry cannot cure. */
export interface Transient {
  /** e.g. `HTTP 503 Service Unavailable`, `ECONNRESET` */
  reason: string;
  status?: number;
  /** The server asked for this pause (Retry-After). */
  retryAfterMs?: number;
}

/** A failed attempt that the operation itself classified as transient. */
export class TransientFailure extends Error {
  constructor(readonly transient: Transient) {
    super(transient.reason);
    this.name = 'TransientFailure';
  }
}

const RETRIABLE_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** What the Docker engine says when a registry failed it in a way worth retrying. */
const ENGINE_TRANSIENT =
  /\b(50[0-4]|429)\b|service unavailable|bad gateway|gateway time-?out|too many requests|connection reset|connection refused|broken pipe|unexpected EOF|i\/o timeout|handshake timeout/i;

/** Classifies network errors (fetch/undici, node sockets) and Docker engine messages. */
export function transientOf(err: unknown): Transient | undefined {
  if (err instanceof TransientFailure) return err.transient;
  const e = err as { code?: string; name?: string; message?: string; cause?: { code?: string } };
  const code = e?.cause?.code ?? e?.code;
  if (code && RETRIABLE_CODES.has(code)) return { reason: code };
  if (e?.name === 'TimeoutError') return { reason: 'request timed out' };
  const message = e?.message ?? '';
  if (/other side closed|socket hang up/i.test(message)) return { reason: message };
  const engine = ENGINE_TRANSIENT.exec(message);
  if (engine) return { reason: message.trim() };
  return undefined;
}

function checkPolicy(policy: RetryPolicy): Required<RetryPolicy> {
  const p = { attempts: 5, baseDelayMs: 250, maxDelayMs: 8000, ...policy };
  if (!Number.isInteger(p.attempts) || p.attempts < 1)
    throw new InputError(`retry attempts: expected an integer >= 1, got ${String(p.attempts)}`);
  if (!(p.baseDelayMs >= 0) || !(p.maxDelayMs >= p.baseDelayMs))
    throw new InputError(
      `retry delays: expected 0 <= baseDelayMs <= maxDelayMs, got ${p.baseDelayMs} and ${p.maxDelayMs}`,
    );
  return p;
}

/**
 * Runs `op` until it succeeds, fails for good, or `policy.attempts` are spent. `what` names
 * the operation in logs and in the final error, e.g. `registry 127.0.0.1:5000: GET /v2/`.
 */
export async function withRetries<T>(
  what: string,
  op: (attempt: number) => Promise<T>,
  policy: RetryPolicy,
  deps: RetryDeps,
  meta: Record<string, unknown> = {},
): Promise<T> {
  const p = checkPolicy(policy);
  for (let attempt = 1; ; attempt++) {
    deps.signal?.throwIfAborted();
    try {
      return await op(attempt);
    } catch (err) {
      if (deps.signal?.aborted) throw err;
      const transient = transientOf(err);
      if (!transient) throw err;
      if (attempt >= p.attempts) {
        throw new InfrastructureError(
          `${what} failed after ${attempt} attempt(s); last: ${transient.reason}`,
          { ...meta, attempts: attempt, lastStatus: transient.status, lastError: transient.reason },
          { cause: err },
        );
      }
      const backoff = Math.min(p.maxDelayMs, p.baseDelayMs * 2 ** (attempt - 1));
      const delay = Math.min(p.maxDelayMs, Math.max(backoff, transient.retryAfterMs ?? 0));
      deps.logger.warn(
        `${what}: ${transient.reason}; retry ${attempt} of ${p.attempts - 1} in ${delay} ms`,
        meta,
      );
      await deps.clock.sleep(delay, deps.signal);
    }
  }
}

/**
 * POSTs events as JSON to a URL from the matrix (`events.webhooks`). Deliveries go out one
 * at a time, in order, from a bounded queue: a dead endpoint costs at most `maxQueue`
 * events of memory (the oldest are dropped and counted). Network errors, timeouts, 408,
 * 429 and 5xx are retried with exponential backoff (honouring `Retry-After`) within
 * `retries` and a deadline per event; any other answer is final. The URL and secret
 * headers never reach a log line: they are registered with `redact`, and the endpoint is
 * named by its origin only.
 */
import { errorMessage, redact, registerSecret } from '../../core/index.js';
import type { ContainerAction, ContainerEvent, ReactorOutcome } from '../model.js';
import { IGNORED, type Reactor, type ReactorContext } from '../reactor.js';

export interface WebhookConfig {
  url: string;
  headers?: Readonly<Record<string, string>>;
  /** Actions sent. @default ['die', 'oom'] */
  on?: readonly ContainerAction[];
  /** Attempts after the first. @default 3 */
  retries?: number;
}

export interface WebhookOptions {
  /** One attempt. @default 10_000 */
  timeoutMs?: number;
  /** All attempts and waits of one event; past it the event is given up. @default 60_000 */
  deadlineMs?: number;
  /** First wait before a retry; doubles per attempt, with jitter. @default 500 */
  backoffMs?: number;
  /** @default 30_000 */
  maxBackoffMs?: number;
  /** Events waiting to be sent; past it the oldest are dropped. @default 1000 */
  maxQueue?: number;
}

export interface WebhookStats {
  delivered: number;
  /** Given up: a final answer, attempts or deadline exhausted. */
  failed: number;
  /** Pushed out of a full queue, or still queued at close. */
  dropped: number;
  retries: number;
  queued: number;
}

export interface WebhookReactor extends Reactor {
  stats(): WebhookStats;
  /** Resolves once the queue is empty and nothing is in flight. */
  drain(): Promise<void>;
  /** Gives queued events up to `graceMs` to go out, then stops (the rest count as dropped). */
  close(graceMs?: number): Promise<void>;
}

const SECRET_PARAM = /token|key|secret|sig|auth|pass|code/i;
const SECRET_HEADER = /auth|token|key|secret|signature|cookie|session|password/i;

export function webhookReactor(
  ctx: ReactorContext,
  config: WebhookConfig,
  opts: WebhookOptions = {},
): WebhookReactor {
  const url = new URL(config.url);
  protectSecrets(url, config.headers ?? {});
  const name = `webhook ${url.origin}${url.pathname.length > 1 || url.search ? '/…' : ''}`;
  const o = {
    timeoutMs: 10_000,
    deadlineMs: 60_000,
    backoffMs: 500,
    maxBackoffMs: 30_000,
    maxQueue: 1000,
    ...opts,
  };
  const retries = config.retries ?? 3;
  if (!Number.isInteger(retries) || retries < 0)
    throw new RangeError(`webhook retries must be a non-negative integer, got ${config.retries}`);
  if (!Number.isInteger(o.maxQueue) || o.maxQueue < 1)
    throw new RangeError(`webhook maxQueue must be a positive integer, got ${o.maxQueue}`);
  const attempts = 1 + retries;
  const on = new Set<string>(config.on ?? ['die', 'oom']);
  const headers = { 'content-type': 'application/json', ...config.headers };
  const queue: ContainerEvent[] = [];
  const counters = { delivered: 0, failed: 0, dropped: 0, retries: 0 };
  const closing = new AbortController();
  let worker: Promise<void> | undefined;
  let overflowing = false;

  /** One POST: the HTTP status, or the reason it got none. */
  async function post(
    body: string,
    timeoutMs: number,
  ): Promise<{ status: number; retryAfterMs?: number } | { error: string }> {
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers,
        body,
        redirect: 'manual', // a redirected POST would turn into a GET
        signal: AbortSignal.any([closing.signal, AbortSignal.timeout(timeoutMs)]),
      });
      await res.body?.cancel().catch(() => undefined);
      const retryAfter = Number(res.headers.get('retry-after'));
      return { status: res.status, ...(retryAfter > 0 ? { retryAfterMs: retryAfter * 1000 } : {}) };
    } catch (err) {
      const cause = (err as { cause?: unknown }).cause;
      return { error: redact(errorMessage(cause ?? err)) };
    }
  }

  async function deliver(event: ContainerEvent): Promise<void> {
    const body = JSON.stringify(event);
    const deadline = ctx.clock.now() + o.deadlineMs;
    for (let attempt = 1; ; attempt++) {
      const answer = await post(body, Math.max(1, Math.min(o.timeoutMs, deadline - ctx.clock.now())));
      if ('status' in answer && answer.status >= 200 && answer.status < 300) {
        counters.delivered++;
        return;
      }
      const why = 'status' in answer ? `HTTP ${answer.status}` : answer.error;
      const retriable =
        'error' in answer || answer.status === 408 || answer.status === 429 || answer.status >= 500;
      const base = Math.min(o.maxBackoffMs, o.backoffMs * 2 ** (attempt - 1));
      const wait = Math.max(
        Math.round(base / 2 + (Math.random() * base) / 2),
        Math.min(o.maxBackoffMs, ('retryAfterMs' in answer && answer.retryAfterMs) || 0),
      );
      const giveUp = !retriable
        ? `refused: ${why}`
        : attempt >= attempts
          ? `${why} after ${attempt} attempts`
          : ctx.clock.now() + wait > deadline
            ? `${why}; no time left for another attempt`
            : closing.signal.aborted
              ? `${why}; closing`
              : undefined;
      if (giveUp) {
        counters.failed++;
        ctx.logger.warn(
          `${name}: ${event.action} of container ${event.containerId.slice(0, 12)} not delivered: ${giveUp}`,
        );
        return;
      }
      counters.retries++;
      await ctx.clock.sleep(wait, closing.signal).catch(() => undefined);
    }
  }

  async function drain(): Promise<void> {
    while (worker) await worker;
  }

  async function work(): Promise<void> {
    await null;
    while (queue.length > 0 && !closing.signal.aborted) {
      const event = queue.shift()!;
      if (queue.length === 0) overflowing = false;
      await deliver(event);
    }
    worker = undefined;
  }

  return {
    name,
    handle(event): ReactorOutcome {
      // Only benchmark containers (a repetition's): not the metrics agent or the fingerprint probe.
      if (!on.has(event.action) || event.cellId === undefined || closing.signal.aborted) return IGNORED;
      queue.push(event);
      if (queue.length > o.maxQueue) {
        queue.shift();
        counters.dropped++;
        if (!overflowing) ctx.logger.warn(`${name}: ${o.maxQueue} events waiting; dropping the oldest`);
        overflowing = true;
      }
      worker ??= work();
      return { kind: 'queued' };
    },
    stats: () => ({ ...counters, queued: queue.length }),
    drain,
    async close(graceMs = 5000) {
      if (!closing.signal.aborted) {
        const stop = new AbortController();
        await Promise.race([drain(), ctx.clock.sleep(graceMs, stop.signal).catch(() => undefined)]);
        stop.abort();
        closing.abort();
        counters.dropped += queue.splice(0).length;
      }
      await drain();
    },
  };
}

/** The URL (its path may be the secret, as in Slack's), its credentials and secret headers are masked from now on. */
function protectSecrets(url: URL, headers: Readonly<Record<string, string>>): void {
  registerSecret(url.href);
  registerSecret(decodeURIComponent(url.password));
  registerSecret(url.pathname + url.search);
  // A long path segment is a token (`/services/T0/B0/<token>`), a short one a word that must stay readable.
  for (const segment of url.pathname.split('/')) if (segment.length >= 16) registerSecret(segment);
  for (const [key, value] of url.searchParams) if (SECRET_PARAM.test(key)) registerSecret(value);
  for (const [header, value] of Object.entries(headers)) {
    if (!SECRET_HEADER.test(header)) continue;
    registerSecret(value);
    // `Bearer <token>`: the token alone may turn up too.
    registerSecret(value.split(/\s+/).at(-1));
  }
}

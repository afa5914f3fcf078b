/**
 * What the SoftLayer provider tests share: the fake API (softlayer-fake.ts), an in-memory
 * ledger and a connector that hands out sessions without SSH (both ports), and builders for
 * the provider and a target.
 */
import Docker from 'dockerode';
import { randomBytes } from 'node:crypto';
import {
  systemClock,
  type Ledger,
  type LedgerEntry,
  type LedgerIntent,
  type Logger,
  type MachineConnector,
  type ProviderContext,
  type SshEndpoint,
  type SshSession,
  type TargetSpec,
} from '../../src/core/index.js';
import { softlayerTarget } from '../../src/config/targets/softlayer.js';
import { SoftlayerClient } from '../../providers/softlayer/client.js';
import { SoftlayerProvider } from '../../providers/softlayer/softlayer-provider.js';
import { startSoftlayerFake, type SoftlayerFake, type SoftlayerFakeOptions } from './softlayer-fake.js';

export const USER = 'SL778899';

/** The ledger port, in memory; every write notes how many API requests had been made before it. */
export class MemoryLedger implements Ledger {
  readonly entries = new Map<string, LedgerEntry>();
  readonly writes: {
    op: 'intend' | 'update' | 'close';
    key: string;
    requestsBefore: number;
    status?: string;
  }[] = [];
  constructor(
    private readonly requestCount: () => number,
    readonly session = 'sess-1',
    readonly owner = 'tester@lab-host',
  ) {}

  intend(intent: LedgerIntent, expiresAt: Date): LedgerEntry {
    const now = new Date().toISOString();
    const entry: LedgerEntry = {
      key: randomBytes(6).toString('hex'),
      provider: intent.provider,
      kind: intent.kind,
      session: this.session,
      owner: this.owner,
      ...(intent.target ? { target: intent.target } : {}),
      ...(intent.region ? { region: intent.region } : {}),
      status: 'creating',
      createdAt: now,
      updatedAt: now,
      expiresAt: expiresAt.toISOString(),
      details: { ...intent.details },
    };
    this.entries.set(entry.key, entry);
    this.writes.push({ op: 'intend', key: entry.key, requestsBefore: this.requestCount() });
    return entry;
  }
  update(key: string, patch: Parameters<Ledger['update']>[1]): LedgerEntry {
    const cur = this.entries.get(key);
    if (!cur) throw new Error(`ledger: no entry '${key}'`);
    const { details, ...rest } = patch;
    const next = {
      ...cur,
      ...rest,
      details: { ...cur.details, ...details },
      updatedAt: new Date().toISOString(),
    };
    this.entries.set(key, next);
    this.writes.push({
      op: 'update',
      key,
      requestsBefore: this.requestCount(),
      ...(patch.status ? { status: patch.status } : {}),
    });
    return next;
  }
  close(key: string, status: 'released' | 'failed' = 'released', error?: string): void {
    const cur = this.entries.get(key);
    if (!cur) return;
    this.entries.set(key, { ...cur, status, ...(error ? { error } : {}) });
    this.writes.push({ op: 'close', key, requestsBefore: this.requestCount(), status });
  }
  get(key: string) {
    return this.entries.get(key);
  }
  open(filter: { provider?: string; session?: string } = {}) {
    return [...this.entries.values()].filter(
      (e) =>
        e.status !== 'released' &&
        e.status !== 'failed' &&
        (!filter.provider || e.provider === filter.provider) &&
        (!filter.session || e.session === filter.session),
    );
  }
}

export class RecordingLogger implements Logger {
  readonly lines: string[] = [];
  private log(level: string, message: string, context?: Record<string, unknown>) {
    this.lines.push(`${level} ${message} ${context ? JSON.stringify(context) : ''}`);
  }
  debug = (m: string, c?: Record<string, unknown>) => this.log('debug', m, c);
  info = (m: string, c?: Record<string, unknown>) => this.log('info', m, c);
  warn = (m: string, c?: Record<string, unknown>) => this.log('warn', m, c);
  error = (m: string, c?: Record<string, unknown>) => this.log('error', m, c);
}

/** Sessions without SSH; the provider must never use Docker itself, so any engine will do. */
export class FakeConnector implements MachineConnector {
  readonly endpoints: SshEndpoint[] = [];
  closed = 0;
  async connect(endpoint: SshEndpoint, signal: AbortSignal): Promise<SshSession> {
    signal.throwIfAborted();
    this.endpoints.push(endpoint);
    const close = async () => {
      this.closed++;
    };
    return {
      docker: new Docker({ socketPath: '/var/run/docker.sock' }),
      endpoint,
      exec: async () => ({ code: 0, stdout: '', stderr: '' }),
      closed: new Promise<void>(() => {}),
      close,
      [Symbol.asyncDispose]: close,
    };
  }
}

export interface World {
  fake: SoftlayerFake;
  ledger: MemoryLedger;
  logger: RecordingLogger;
  connector: FakeConnector;
  apiKey: string;
  /** A provider on the fake; another API key to see it refused. */
  provider(opts?: { apiKey?: string; ledger?: Ledger }): SoftlayerProvider;
  /** A softlayer target on the fake, polled every 20 ms, ready within 5 s. */
  target(options?: Record<string, unknown>): TargetSpec;
  /** The fake's requests whose `Service::method` ends with `method`. */
  calls(method: string): SoftlayerFake['requests'];
}

export async function startWorld(opts: SoftlayerFakeOptions & { session?: string } = {}): Promise<World> {
  const apiKey = randomBytes(32).toString('hex'); // an SL API key: 64 hex characters
  const fake = await startSoftlayerFake({ username: USER, apiKey, ...opts });
  const ledger = new MemoryLedger(() => fake.requests.length, opts.session);
  const logger = new RecordingLogger();
  const connector = new FakeConnector();
  return {
    fake,
    ledger,
    logger,
    connector,
    apiKey,
    provider(o = {}) {
      const ctx: ProviderContext = {
        ledger: o.ledger ?? ledger,
        connector,
        maxLifetimeMs: 6 * 3_600_000,
        clock: systemClock,
        logger,
        price: (q) =>
          q.instanceType === 'AC1_8X60X25' ? { usd: 2.5, asOf: '2025-01-01', source: 'test' } : undefined,
      };
      return new SoftlayerProvider(ctx, {
        client: (endpoint) =>
          new SoftlayerClient({
            endpoint,
            username: USER,
            apiKey: o.apiKey ?? apiKey,
            clock: systemClock,
            logger,
            baseDelayMs: 5,
            maxDelayMs: 20,
          }),
        defaultEndpoint: fake.url,
        teardown: { pollIntervalMs: 20, timeoutMs: 5_000 },
      });
    },
    target(options = {}) {
      return {
        name: 'gpu',
        provider: 'softlayer',
        options: softlayerTarget.parse({
          datacenters: ['dal10'],
          flavor: 'AC1_8X60X25',
          sshKeyIds: [42],
          endpoint: fake.url,
          pollInterval: '20ms',
          deadline: '5s',
          ...options,
        }),
      };
    },
    calls: (method) => fake.requests.filter((r) => `${r.service}::${r.method}`.endsWith(method)),
  };
}

/** Polls `condition` every 5 ms (a condition on the fake's state, never a fixed sleep). */
export async function until(condition: () => boolean, timeoutMs = 5_000) {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Plain REST calls on the fake, as any API user would make them. */
export function restOf(w: Pick<World, 'fake' | 'apiKey'>) {
  const auth = (key = w.apiKey) => ({
    authorization: `Basic ${Buffer.from(`${USER}:${key}`).toString('base64')}`,
  });
  return {
    auth,
    async get(pathAndQuery: string): Promise<Record<string, unknown>> {
      const res = await fetch(`${w.fake.url}${pathAndQuery}`, { headers: auth() });
      if (!res.ok) throw new Error(`${res.status} ${await res.text()}`);
      return (await res.json()) as Record<string, unknown>;
    },
    async post(pathAndQuery: string, template: Record<string, unknown>) {
      const res = await fetch(`${w.fake.url}${pathAndQuery}`, {
        method: 'POST',
        headers: { ...auth(), 'content-type': 'application/json' },
        body: JSON.stringify({ parameters: [template] }),
      });
      if (res.status !== 201) throw new Error(`${res.status} ${await res.text()}`);
      return (await res.json()) as { id: number | null; globalIdentifier: string };
    },
  };
}

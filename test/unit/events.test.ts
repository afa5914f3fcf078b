/**
 * The events module without Docker: the bus's isolation and ordering, splitting the
 * engine's stream into lines, reading engine events, the source's resume across a cut
 * stream (a fake engine), exit classification, the webhook against a local HTTP server,
 * the matrix's `events:` block and the event documents.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type Docker from 'dockerode';
import { InfrastructureError, redact, systemClock, type Logger } from '../../src/core/index.js';
import { eventsConfig } from '../../src/config/events-schema.js';
import {
  DockerEventSource,
  EventBus,
  LineSplitter,
  attachReactor,
  classifyExit,
  demux,
  exitNonzeroReactor,
  oomReactor,
  parseEngineEvent,
  webhookReactor,
  type ContainerEvent,
  type ReactorContext,
  type ReactorOutcome,
} from '../../src/events/index.js';
import { eventDoc, isoNanos } from '../../src/store/index.js';

function recordingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const log = (message: string, context?: Record<string, unknown>) =>
    lines.push(message + (context ? ` ${JSON.stringify(context)}` : ''));
  return { logger: { debug: log, info: log, warn: log, error: log }, lines };
}

const NANO = 1_795_869_431_829_095_670n;

/** One line of the engine's `/events` stream, with its 19-digit `timeNano` written out exactly. */
function engineLine(id: string, action: string, nano: bigint, attrs: Record<string, string> = {}): string {
  const msg = {
    status: action,
    id,
    Type: 'container',
    Action: action,
    Actor: { ID: id, Attributes: { name: `c-${id}`, 'io.benchyard.session': 's1', ...attrs } },
    scope: 'local',
    time: Number(nano / 1_000_000_000n),
    timeNano: 0,
  };
  return JSON.stringify(msg).replace('"timeNano":0', `"timeNano":${nano}`) + '\n';
}

const event = (extra: Partial<ContainerEvent> = {}): ContainerEvent => ({
  machineId: 'm1',
  host: 'h1',
  containerId: 'c0ffee00c0ffee00',
  name: 'bench',
  action: 'die',
  exitCode: 3,
  timeNano: String(NANO),
  timestamp: Number(NANO / 1_000_000n),
  session: 's1',
  runId: 'r1',
  cellId: 'cell1',
  repetition: 2,
  ...extra,
});

async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('EventBus', () => {
  it('isolates handlers: one that throws or rejects is logged, the others and the publisher go on', async () => {
    const { logger, lines } = recordingLogger();
    const bus = new EventBus<number>({ logger, describe: (n) => `event ${n}` });
    const seen: number[] = [];
    bus.subscribe('thrower', (n) => {
      if (n === 1) throw new Error('sync boom');
    });
    bus.subscribe('rejecter', async (n) => {
      if (n === 2) throw new Error('async boom');
    });
    bus.subscribe('good', (n) => void seen.push(n));
    expect(() => [1, 2, 3].forEach((n) => bus.publish(n))).not.toThrow();
    await bus.drain();
    expect(seen).toEqual([1, 2, 3]);
    expect(bus.stats()).toMatchObject({ published: 3, failures: 2, dropped: 0 });
    expect(lines.some((l) => l.includes('thrower failed on event 1: sync boom'))).toBe(true);
    expect(lines.some((l) => l.includes('rejecter failed on event 2: async boom'))).toBe(true);
  });

  it('never runs a handler on the publisher’s stack; drain() awaits handlers in flight', async () => {
    const bus = new EventBus<string>();
    const done: string[] = [];
    bus.subscribe('slow', async (e) => {
      await new Promise((r) => setTimeout(r, 30));
      done.push(e);
    });
    bus.publish('a');
    bus.publish('b');
    expect(done).toEqual([]);
    await bus.drain();
    expect(done).toEqual(['a', 'b']);
  });

  it('delivers in order per subscriber, a slow one holding back nobody else', async () => {
    const bus = new EventBus<number>();
    const fast: number[] = [];
    const slow: number[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    bus.subscribe('slow', async (n) => {
      await gate;
      slow.push(n);
    });
    bus.subscribe('fast', (n) => void fast.push(n));
    for (let n = 0; n < 5; n++) bus.publish(n);
    await until(() => fast.length === 5);
    expect(slow).toEqual([]);
    release();
    await bus.drain();
    expect(slow).toEqual([0, 1, 2, 3, 4]);
  });

  it('bounds each queue (the oldest go, counted) and stops delivering after unsubscribe', async () => {
    const { logger, lines } = recordingLogger();
    const bus = new EventBus<number>({ logger, maxQueued: 3 });
    const seen: number[] = [];
    const off = bus.subscribe('sub', (n) => void seen.push(n));
    for (let n = 0; n < 10; n++) bus.publish(n);
    await bus.drain();
    expect(seen).toEqual([7, 8, 9]);
    expect(bus.stats().dropped).toBe(7);
    expect(lines.filter((l) => l.includes('dropping the oldest'))).toHaveLength(1);
    off();
    bus.publish(11);
    await bus.drain();
    expect(seen).toEqual([7, 8, 9]);
    expect(() => new EventBus({ maxQueued: 0 })).toThrow(/positive integer, got 0/);
  });
});

describe('LineSplitter', () => {
  it('reassembles lines cut anywhere, including inside a UTF-8 character', () => {
    const text = '{"a":"λx"}\r\n\n{"b":2}\n{"c":';
    const bytes = Buffer.from(text, 'utf8');
    const split = new LineSplitter();
    const lines: string[] = [];
    for (let i = 0; i < bytes.length; i += 3) lines.push(...split.push(bytes.subarray(i, i + 3)));
    expect(lines).toEqual(['{"a":"λx"}', '{"b":2}']);
    expect(split.push('3}\n')).toEqual(['{"c":3}']);
    expect(split.push('{"d":4}')).toEqual([]);
    expect(split.end()).toEqual(['{"d":4}']);
  });

  it('gives up a line past its cap and resumes at the next', () => {
    const split = new LineSplitter(10);
    expect(split.push('x'.repeat(8))).toEqual([]);
    expect(split.push('y'.repeat(8))).toEqual([]);
    expect(split.push('zz\n{"ok":1}\n')).toEqual(['{"ok":1}']);
    expect(split.overlong).toBe(1);
  });
});

describe('parseEngineEvent', () => {
  it('keeps every digit of timeNano and the benchyard labels', () => {
    const line = engineLine('abc', 'die', NANO, {
      exitCode: '3',
      image: 'benchyard/base:bookworm',
      'io.benchyard.run': 'r1',
      'io.benchyard.cell': 'cell1',
      'io.benchyard.repetition': '2',
      'user.note': '"timeNano":123',
    });
    expect(parseEngineEvent(line, 'm1', 'h1')).toEqual({
      machineId: 'm1',
      host: 'h1',
      containerId: 'abc',
      name: 'c-abc',
      image: 'benchyard/base:bookworm',
      action: 'die',
      exitCode: 3,
      timeNano: '1795869431829095670',
      timestamp: 1_795_869_431_829,
      session: 's1',
      runId: 'r1',
      cellId: 'cell1',
      repetition: 2,
    });
  });

  it('drops the detail of an action, keeps the kill signal, and refuses what is not a container event', () => {
    expect(parseEngineEvent(engineLine('a', 'exec_start: sh -c secret', NANO), 'm', 'h')?.action).toBe(
      'exec_start',
    );
    expect(parseEngineEvent(engineLine('a', 'kill', NANO, { signal: '9' }), 'm', 'h')?.signal).toBe('9');
    expect(parseEngineEvent('{"Type":"network","Action":"connect"}', 'm', 'h')).toBeUndefined();
    expect(parseEngineEvent('not json', 'm', 'h')).toBeUndefined();
  });
});

describe('DockerEventSource with a fake engine', () => {
  it('reconnects after the stream ends, asks again from the last event less the overlap, publishes each event once', async () => {
    const streams = [new PassThrough(), new PassThrough()];
    const calls: Docker.GetEventsOptions[] = [];
    const api = {
      getEvents: async (opts: Docker.GetEventsOptions) => {
        calls.push(opts);
        const s = streams.shift();
        if (!s) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
        return s;
      },
    };
    const published: ContainerEvent[] = [];
    const first = streams[0]!;
    const second = streams[1]!;
    const source = await DockerEventSource.start({
      docker: api,
      machineId: 'm1',
      session: 's1',
      publish: (e) => published.push(e),
      since: 1_795_869_000_000,
      backoffMs: 1,
    });
    expect(calls[0]).toMatchObject({
      since: 1_795_869_000,
      filters: { type: ['container'], label: ['io.benchyard.session=s1'] },
    });
    const a = engineLine('a', 'start', NANO);
    const b = engineLine('a', 'die', NANO + 5_000_000n, { exitCode: '0' });
    first.write(a.slice(0, 17));
    first.write(a.slice(17) + b.slice(0, 40));
    first.end(b.slice(40));
    await until(() => calls.length === 2);
    // Resumes 1 s before the last event it saw (ms precision).
    expect(calls[1]!.since).toBe(Number((NANO + 5_000_000n - 1_000_000_000n) / 1_000_000n) / 1000);
    second.write(a + b + engineLine('a', 'destroy', NANO + 9_000_000n));
    await until(() => published.length === 3);
    expect(published.map((e) => e.action)).toEqual(['start', 'die', 'destroy']);
    expect(source.stats()).toMatchObject({ published: 3, duplicates: 2, reconnects: 1 });
    await source.close();
    await source.close(); // idempotent
  });

  it('rejects with an infrastructure error when the engine does not answer at first', async () => {
    const api = {
      getEvents: async () => {
        throw Object.assign(new Error('connect ENOENT /nowhere.sock'), { code: 'ENOENT' });
      },
    };
    const err = await DockerEventSource.start({
      docker: api,
      machineId: 'm9',
      session: 's',
      publish: () => {},
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InfrastructureError);
    expect((err as Error).message).toMatch(/docker events of m9: .*ENOENT/);
  });
});

describe('exit classification', () => {
  it.each([
    [3, 'benchmark-error', 'benchmark error'],
    [1, 'benchmark-error', 'benchmark error'],
    [126, 'not-runnable', 'command not runnable'],
    [127, 'not-found', 'command not found'],
    [134, 'abort', 'SIGABRT'],
    [137, 'killed', 'killed (SIGKILL)'],
    [139, 'segfault', 'segmentation fault'],
    [143, 'terminated', 'SIGTERM'],
  ])('exit %i is %s', (code, classification, words) => {
    const c = classifyExit(code);
    expect(c.classification).toBe(classification);
    expect(c.description).toContain(words);
  });

  it('an OOM kill is told apart from another SIGKILL', () => {
    expect(classifyExit(137, true)).toEqual({
      classification: 'oom',
      description: 'killed by the OOM killer',
    });
  });
});

describe('reactors without an engine to ask', () => {
  const ctx: ReactorContext = {
    dockerFor: () => undefined,
    clock: systemClock,
    logger: recordingLogger().logger,
  };

  it('exit-nonzero annotates a non-zero die, says why there is no log, and leaves OOM kills to the oom reactor', async () => {
    const reactor = exitNonzeroReactor(ctx);
    const outcome = await reactor.handle(event());
    expect(outcome).toMatchObject({
      kind: 'annotated',
      annotation: {
        classification: 'benchmark-error',
        message: 'exited with code 3: benchmark error',
        exitCode: 3,
        logTailMissing: 'machine m1 is no longer reachable',
      },
    });
    expect(await reactor.handle(event({ exitCode: 0 }))).toEqual({ kind: 'ignored' });
    expect(await reactor.handle(event({ containerId: 'oomed', action: 'oom', exitCode: undefined }))).toEqual(
      {
        kind: 'ignored',
      },
    );
    expect(await reactor.handle(event({ containerId: 'oomed', exitCode: 137 }))).toEqual({ kind: 'ignored' });
  });

  it('oom annotates once per container; attachReactor hands annotations of repetitions to the port', async () => {
    const bus = new EventBus<ContainerEvent>();
    const got: [string, string, number, string][] = [];
    const outcomes: ReactorOutcome[] = [];
    attachReactor(bus, oomReactor(ctx), {
      logger: ctx.logger,
      annotations: { onAnnotation: (r, c, n, a) => void got.push([r, c, n, a.message]) },
      onOutcome: (_, __, o) => outcomes.push(o),
    });
    bus.publish(event({ action: 'oom', exitCode: undefined }));
    bus.publish(event({ action: 'die', exitCode: 137 }));
    await bus.drain();
    expect(got).toEqual([['r1', 'cell1', 2, 'killed by the OOM killer (memory limit unknown)']]);
    expect(outcomes.map((o) => o.kind)).toEqual(['annotated', 'ignored']);
  });

  it('demultiplexes the engine’s log frames', () => {
    const frame = (stream: number, text: string) => {
      const payload = Buffer.from(text);
      const header = Buffer.alloc(8);
      header[0] = stream;
      header.writeUInt32BE(payload.length, 4);
      return Buffer.concat([header, payload]);
    };
    expect(demux(Buffer.concat([frame(1, 'out\n'), frame(2, 'err\n')])).toString()).toBe('out\nerr\n');
    expect(demux(Buffer.from('plain tty text\n')).toString()).toBe('plain tty text\n');
  });
});

describe('webhook reactor against a local HTTP server', () => {
  const servers: http.Server[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  });

  /** Answers each request with the next status (200 when none is left); `hang` never answers. */
  async function hookServer(statuses: (number | 'hang')[]) {
    const received: { body: string; headers: http.IncomingHttpHeaders }[] = [];
    const server = http.createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        received.push({ body, headers: req.headers });
        const status = statuses.shift() ?? 200;
        if (status !== 'hang') res.writeHead(status).end();
      });
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    return { url: `http://127.0.0.1:${port}/hooks/T0/B0/s3cr3t-p4th-t0ken?token=qu3ry-s3cr3t`, received };
  }

  const fast = { backoffMs: 5, maxBackoffMs: 20 };

  it('retries 503 twice, then delivers the event JSON with its headers; no secret reaches a log line', async () => {
    const { logger, lines } = recordingLogger();
    const server = await hookServer([503, 503, 200]);
    const hook = webhookReactor(
      { dockerFor: () => undefined, clock: systemClock, logger },
      { url: server.url, headers: { Authorization: 'Bearer h34der-s3cr3t-value' }, retries: 3 },
      fast,
    );
    expect(hook.name).toBe(`webhook ${new URL(server.url).origin}/…`);
    expect(hook.handle(event())).toEqual({ kind: 'queued' });
    expect(hook.handle(event({ action: 'start', exitCode: undefined }))).toEqual({ kind: 'ignored' });
    // Not a benchmark container (the metrics agent, the fingerprint probe): not sent.
    expect(hook.handle(event({ cellId: undefined, runId: undefined, repetition: undefined }))).toEqual({
      kind: 'ignored',
    });
    await hook.drain();
    expect(hook.stats()).toEqual({ delivered: 1, failed: 0, dropped: 0, retries: 2, queued: 0 });
    expect(server.received).toHaveLength(3);
    expect(JSON.parse(server.received[2]!.body)).toEqual(event());
    expect(server.received[2]!.headers).toMatchObject({
      authorization: 'Bearer h34der-s3cr3t-value',
      'content-type': 'application/json',
    });
    await hook.close();
    for (const secret of ['s3cr3t-p4th-t0ken', 'qu3ry-s3cr3t', 'h34der-s3cr3t-value'])
      expect(redact(`posting to ${server.url} with ${secret}`)).not.toContain(secret);
    expect(lines.join('\n')).not.toMatch(/s3cr3t/);
  });

  it('does not retry a 4xx other than 429, retries 429, and gives up after its retries', async () => {
    const { logger, lines } = recordingLogger();
    const server = await hookServer([400, 429, 200, 500, 500]);
    const hook = webhookReactor(
      { dockerFor: () => undefined, clock: systemClock, logger },
      { url: server.url, retries: 1 },
      fast,
    );
    hook.handle(event({ containerId: 'first' }));
    hook.handle(event({ containerId: 'second' }));
    hook.handle(event({ containerId: 'third' }));
    await hook.drain();
    expect(server.received.map((r) => (JSON.parse(r.body) as ContainerEvent).containerId)).toEqual([
      'first',
      'second',
      'second',
      'third',
      'third',
    ]);
    expect(hook.stats()).toMatchObject({ delivered: 1, failed: 2, retries: 2 });
    expect(lines.some((l) => l.includes('not delivered: refused: HTTP 400'))).toBe(true);
    expect(lines.some((l) => l.includes('not delivered: HTTP 500 after 2 attempts'))).toBe(true);
    expect(lines.join('\n')).not.toMatch(/s3cr3t/);
    await hook.close();
  });

  it('keeps a bounded queue while the endpoint hangs: the oldest are dropped and counted', async () => {
    const server = await hookServer(['hang']);
    const { logger, lines } = recordingLogger();
    const hook = webhookReactor(
      { dockerFor: () => undefined, clock: systemClock, logger },
      { url: server.url, retries: 0 },
      { ...fast, maxQueue: 2, timeoutMs: 60_000 },
    );
    for (let i = 0; i < 5; i++) hook.handle(event({ containerId: `c${i}` }));
    expect(hook.stats()).toMatchObject({ dropped: 3, queued: 2 });
    await until(() => server.received.length === 1);
    expect((JSON.parse(server.received[0]!.body) as ContainerEvent).containerId).toBe('c3');
    await hook.close(50);
    // c3 was in flight when closing aborted it; c4 never left the queue.
    expect(hook.stats()).toMatchObject({ delivered: 0, failed: 1, dropped: 4, queued: 0 });
    expect(lines.filter((l) => l.includes('dropping the oldest'))).toHaveLength(1);
    expect(hook.handle(event())).toEqual({ kind: 'ignored' });
  });
});

describe('matrix events block', () => {
  it('fills defaults and reports bad URLs, actions and headers', () => {
    expect(eventsConfig.parse({})).toEqual({ webhooks: [] });
    expect(eventsConfig.parse({ webhooks: [{ url: 'https://hooks.example/x' }] })).toEqual({
      webhooks: [{ url: 'https://hooks.example/x', retries: 3 }],
    });
    const bad = eventsConfig.safeParse({
      webhooks: [{ url: 'ftp://x', on: ['explode'], headers: { 'bad header': 'v' }, retries: 99 }],
    });
    expect(bad.success).toBe(false);
    const paths = bad.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(
      expect.arrayContaining([
        'webhooks.0.url',
        'webhooks.0.on.0',
        'webhooks.0.headers.bad header',
        'webhooks.0.retries',
      ]),
    );
  });
});

describe('event documents', () => {
  it('carry the exact nanosecond time and ECS-style fields', () => {
    expect(isoNanos('1795869431829095670')).toBe('2026-11-28T12:37:11.829095670Z');
    expect(isoNanos('1000000000000000001')).toBe('2001-09-09T01:46:40.000000001Z');
    expect(eventDoc(event({ image: 'img' }))).toEqual({
      '@timestamp': '2026-11-28T12:37:11.829095670Z',
      event: { action: 'die' },
      host: { name: 'h1' },
      machine: { id: 'm1' },
      container: { id: 'c0ffee00c0ffee00', name: 'bench', image: { name: 'img' } },
      exit_code: 3,
      session: { id: 's1' },
      run: { id: 'r1' },
      cell: { id: 'cell1' },
      repetition: 2,
    });
  });
});

/**
 * The events module against the real Docker engine: a container that exits 3 and one the
 * OOM killer stops (8 MiB limit) produce the right reactor outcomes, the webhook delivers
 * die events to a local HTTP server, every event lands once in a SQLite store (and in
 * Elasticsearch), the source resumes after its stream is cut without losing the events
 * of the gap, and the EventHub puts it all together. Every container is labelled with the
 * test's session and removed. Fails (never skips) when Docker or the image is missing.
 */
import { DockerEngine } from '../../src/engine/index.js';
import Database from 'better-sqlite3';
import type Docker from 'dockerode';
import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABELS, systemClock, type Logger } from '../../src/core/index.js';
import { pingDocker } from '../../src/engine/index.js';
import {
  DockerEventSource,
  EventBus,
  EventHub,
  attachReactor,
  attachSink,
  exitNonzeroReactor,
  oomReactor,
  storeEventSink,
  webhookReactor,
  type Annotation,
  type ContainerEvent,
  type ReactorContext,
} from '../../src/events/index.js';
import {
  DB_FILE,
  ElasticsearchStore,
  EVENTS_INDEX,
  SqliteStore,
  eventDoc,
  eventId,
} from '../../src/store/index.js';
import { SCHEMA_V1, SCHEMA_V2, SCHEMA_V3, SCHEMA_V4, SCHEMA_V5 } from '../../src/store/sqlite-schema.js';
import { ES_URL, docker, esClient } from '../helpers/services.js';

const IMAGE = 'benchyard/base:bookworm';
const MiB = 1024 * 1024;
const d = docker();
const tag = `${process.pid}-${Date.now()}`;
const runId = `events-run-${tag}`;
const machineId = 'local-events-test';

const lines: string[] = [];
const log = (message: string) => void lines.push(message);
const logger: Logger = { debug: log, info: log, warn: log, error: log };

async function until(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline)
      throw new Error(`${what}: not reached in ${timeoutMs} ms; log:\n${lines.join('\n')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Creates, starts and waits for a container labelled like a repetition of `session`. */
async function runContainer(
  session: string,
  cell: string,
  cmd: string[],
  hostConfig: Docker.HostConfig = {},
): Promise<{ id: string; exitCode: number }> {
  const container = await d.createContainer({
    Image: IMAGE,
    Cmd: cmd,
    Labels: {
      [LABELS.managed]: 'true',
      [LABELS.session]: session,
      [LABELS.run]: runId,
      [LABELS.cell]: cell,
      [LABELS.repetition]: '1',
      [LABELS.expiresAt]: new Date(Date.now() + 3_600_000).toISOString(),
    },
    HostConfig: { NetworkMode: 'none', ...hostConfig },
  });
  await container.start();
  const { StatusCode } = (await container.wait()) as { StatusCode: number };
  return { id: container.id, exitCode: StatusCode };
}

async function removeSession(session: string): Promise<void> {
  const left = await d.listContainers({ all: true, filters: { label: [`${LABELS.session}=${session}`] } });
  for (const c of left)
    await d
      .getContainer(c.Id)
      .remove({ force: true, v: true })
      .catch(() => undefined);
}

async function hookServer() {
  const received: ContainerEvent[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      received.push(JSON.parse(body) as ContainerEvent);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const close = async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  };
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received, close };
}

const sessions: string[] = [];
const newSession = (name: string) => {
  const s = `events-${name}-${tag}`;
  sessions.push(s);
  return s;
};

beforeAll(async () => {
  // Fails (never skips) with what to do when the engine or the image is missing.
  await pingDocker(d, 'local');
  await d
    .getImage(IMAGE)
    .inspect()
    .catch(() => {
      throw new Error(`image ${IMAGE} is missing: build it with 'scripts/services up images'`);
    });
});

afterAll(async () => {
  for (const s of sessions) await removeSession(s);
});

describe('container events from the real Docker engine', () => {
  it('exit 3 and an OOM kill produce the right annotations, the webhook gets the die events, SQLite lists every event once', async () => {
    const session = newSession('reactors');
    const bus = new EventBus<ContainerEvent>({ logger, describe: (e) => `${e.action} of ${e.containerId}` });
    const store = new SqliteStore(mkdtempSync(path.join(os.tmpdir(), 'by-events-')));
    attachSink(bus, 'sqlite', storeEventSink(store));
    const ctx: ReactorContext = {
      dockerFor: (id) => (id === machineId ? d : undefined),
      clock: systemClock,
      logger,
    };
    const annotations: { cellId: string; reactor: string; annotation: Annotation }[] = [];
    const port = {
      onAnnotation: (_run: string, cellId: string, _rep: number, annotation: Annotation) =>
        void annotations.push({ cellId, reactor: annotation.reactor, annotation }),
    };
    const server = await hookServer();
    const hook = webhookReactor(ctx, { url: server.url, on: ['die'] }, { backoffMs: 50 });
    for (const reactor of [exitNonzeroReactor(ctx), oomReactor(ctx), hook])
      attachReactor(bus, reactor, { logger, annotations: port });
    const source = await DockerEventSource.start({
      docker: d,
      machineId,
      host: os.hostname(),
      session,
      publish: (e) => bus.publish(e),
      logger,
    });
    try {
      const failing = await runContainer(session, 'cell-exit', [
        'sh',
        '-c',
        'echo preparing; echo "last words before exit" >&2; exit 3',
      ]);
      const oomed = await runContainer(
        session,
        'cell-oom',
        ['sh', '-c', 'echo filling memory; tail /dev/zero'],
        {
          Memory: 8 * MiB,
          MemorySwap: 8 * MiB,
        },
      );
      expect(failing.exitCode).toBe(3);
      expect(oomed.exitCode).toBe(137);
      // The containers stay until the reactors have read them, as they would behind a slow scheduler.
      await until(
        'annotations and webhook deliveries',
        () => annotations.length >= 2 && server.received.length >= 2,
      );
      await bus.drain();

      expect(annotations.find((a) => a.cellId === 'cell-exit')?.annotation).toMatchObject({
        reactor: 'exit-nonzero',
        classification: 'benchmark-error',
        message: 'exited with code 3: benchmark error',
        exitCode: 3,
        containerId: failing.id,
        machineId,
      });
      const tail = annotations.find((a) => a.cellId === 'cell-exit')!.annotation.logTail;
      // Both streams; the engine copies them apart, so their order against each other is not kept.
      expect(tail?.split('\n').sort()).toEqual(['last words before exit', 'preparing']);
      // The OOM kill is the oom reactor's alone: exit-nonzero does not call it a SIGKILL.
      expect(annotations.filter((a) => a.cellId === 'cell-oom')).toEqual([
        {
          cellId: 'cell-oom',
          reactor: 'oom',
          annotation: expect.objectContaining({
            classification: 'oom',
            message: 'killed by the OOM killer (memory limit 8 MiB)',
            memoryLimitBytes: 8 * MiB,
            containerId: oomed.id,
          }),
        },
      ]);
      await hook.drain();
      expect(server.received.map((e) => [e.containerId, e.action, e.exitCode])).toEqual([
        [failing.id, 'die', 3],
        [oomed.id, 'die', 137],
      ]);
      expect(server.received[0]).toMatchObject({
        runId,
        cellId: 'cell-exit',
        repetition: 1,
        session,
        machineId,
      });

      await removeSession(session);
      await until('destroy events', () => source.stats().published >= 9);
      await bus.drain();
      const stored = await store.listEvents({ runId });
      const actions = (id: string) => stored.filter((e) => e.containerId === id).map((e) => e.action);
      expect(actions(failing.id)).toEqual(['create', 'start', 'die', 'destroy']);
      expect(actions(oomed.id)).toEqual(['create', 'start', 'oom', 'die', 'destroy']);
      expect(stored.find((e) => e.containerId === failing.id && e.action === 'die')).toMatchObject({
        exitCode: 3,
        runId,
        cellId: 'cell-exit',
        repetition: 1,
        session,
      });
      expect(stored.map((e) => e.timeNano)).toEqual([...stored.map((e) => e.timeNano)].sort());
      expect(stored.every((e) => /^\d{19}$/.test(e.timeNano))).toBe(true);
    } finally {
      await source.close();
      await hook.close();
      await server.close();
      await removeSession(session);
      await store.close();
    }
  });

  it('resumes after its stream is cut, with the events of the gap and none twice', async () => {
    const session = newSession('resume');
    const streams: NodeJS.ReadableStream[] = [];
    const api = {
      getEvents: async (opts: Docker.GetEventsOptions) => {
        const stream = await d.getEvents(opts);
        streams.push(stream);
        return stream;
      },
    };
    const seen: ContainerEvent[] = [];
    // Backoff of 2-4 s: the second container runs its whole life while the source is away.
    const source = await DockerEventSource.start({
      docker: api,
      machineId,
      session,
      publish: (e) => seen.push(e),
      backoffMs: 4000,
      logger,
    });
    try {
      const before = await runContainer(session, 'before', ['true']);
      await until('the first container’s die', () =>
        seen.some((e) => e.containerId === before.id && e.action === 'die'),
      );
      (streams[0] as Readable).destroy();
      const during = await runContainer(session, 'during', ['sh', '-c', 'exit 5']);
      expect(streams).toHaveLength(1); // still away: these events happened in the gap
      await until('the gap’s die', () => seen.some((e) => e.containerId === during.id && e.action === 'die'));
      const stats = source.stats();
      expect(stats.reconnects).toBe(1);
      expect(stats.duplicates).toBeGreaterThan(0); // the overlap asked for some again
      const keys = seen.map((e) => `${e.containerId}:${e.action}:${e.timeNano}`);
      expect(new Set(keys).size).toBe(keys.length);
      const actions = (id: string) => seen.filter((e) => e.containerId === id).map((e) => e.action);
      expect(actions(before.id)).toEqual(['create', 'start', 'die']);
      expect(actions(during.id)).toEqual(['create', 'start', 'die']);
      expect(seen.find((e) => e.containerId === during.id && e.action === 'die')?.exitCode).toBe(5);
      expect(
        lines.some((l) => l.includes(`docker events of ${machineId}: stream closed; reconnecting`)),
      ).toBe(true);
    } finally {
      await source.close();
      await removeSession(session);
    }
  });
});

describe('EventHub', () => {
  it('follows a machine, annotates through the port, records every event, and flushes its sinks on close', async () => {
    const session = newSession('hub');
    const recorded: ContainerEvent[] = [];
    let flushed = 0;
    const annotations: Annotation[] = [];
    const hub = new EventHub({
      session,
      logger,
      sinks: {
        memory: { record: (events) => void recorded.push(...events), flush: async () => void flushed++ },
      },
      annotations: { onAnnotation: (_r, _c, _n, a) => void annotations.push(a) },
    });
    try {
      await hub.follow({ id: machineId, hostname: os.hostname(), engine: new DockerEngine(d) });
      await hub.follow({ id: machineId, hostname: os.hostname(), engine: new DockerEngine(d) }); // once per machine
      const c = await runContainer(session, 'cell-hub', ['sh', '-c', 'echo nope; exit 127']);
      await until('the annotation', () => annotations.length === 1);
      expect(annotations[0]).toMatchObject({
        classification: 'not-found',
        containerId: c.id,
        logTail: 'nope',
      });
      await removeSession(session);
      await until('the destroy event', () => recorded.some((e) => e.action === 'destroy'));
    } finally {
      await hub.close();
      await hub.close();
      await removeSession(session);
    }
    expect(flushed).toBe(1);
    expect(recorded.map((e) => e.action)).toEqual(['create', 'start', 'die', 'destroy']);
    expect(recorded.every((e) => e.host === os.hostname() && e.session === session)).toBe(true);
  });
});

describe('event storage', () => {
  const sample: ContainerEvent = {
    machineId,
    host: 'vm',
    containerId: `c0ffee-${tag}`,
    name: 'bench',
    image: IMAGE,
    action: 'die',
    exitCode: 3,
    timeNano: '1795869431829095670',
    timestamp: 1_795_869_431_829,
    session: 's',
    runId,
    cellId: 'cell',
    repetition: 1,
  };

  it('a v5 SQLite store migrates to v6 and stores an event once, keeping every digit of its time', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'by-events-migrate-'));
    const old = new Database(path.join(dir, DB_FILE));
    old.exec(SCHEMA_V1 + SCHEMA_V2 + SCHEMA_V3 + SCHEMA_V4 + SCHEMA_V5);
    old.pragma('user_version = 5');
    old.close();
    const store = new SqliteStore(dir);
    store.recordEvents([sample, sample]);
    store.recordEvents([
      { ...sample, runId: undefined, cellId: undefined, repetition: undefined, action: 'start' },
    ]);
    expect(await store.listEvents({ runId })).toEqual([sample]);
    expect(await store.listEvents({})).toHaveLength(2);
    await store.close();
  });

  it('Elasticsearch keeps events in benchyard-events with nanosecond timestamps; a re-sent event is one document', async () => {
    const es = esClient();
    try {
      const store = await ElasticsearchStore.connect({ url: ES_URL });
      store.recordEvents([sample]);
      await store.flush();
      store.recordEvents([sample]);
      await store.close();
      await es.indices.refresh({ index: EVENTS_INDEX });
      const doc = await es.get({ index: EVENTS_INDEX, id: eventId(sample) });
      expect(doc._source).toEqual(eventDoc(sample));
      expect((doc._source as { '@timestamp': string })['@timestamp']).toBe('2026-11-28T12:37:11.829095670Z');
      const count = await es.count({
        index: EVENTS_INDEX,
        query: { term: { 'container.id': sample.containerId } },
      });
      expect(count.count).toBe(1);
      const mapping = await es.indices.getMapping({ index: EVENTS_INDEX });
      expect(Object.values(mapping)[0]!.mappings.properties!['@timestamp']).toEqual({ type: 'date_nanos' });
    } finally {
      await es.close();
    }
  });
});

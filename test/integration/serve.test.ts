/**
 * `benchyard serve`'s server against a real SQLite store seeded through SqliteStore's own
 * write methods: routes, errors, authentication, the live stream, and that user data comes
 * back as data.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listPools } from '../../src/pool/index.js';
import { axisOption, compareSelection, selectRuns } from '../../src/cli/compare-input.js';
import {
  InfrastructureError,
  InputError,
  silentLogger,
  type MatrixCell,
  type MetricSample,
  type RepetitionResult,
  type RunRecord,
} from '../../src/core/index.js';
import { CONTENT_SECURITY_POLICY, WebServer, type ServeOptions } from '../../src/serve/index.js';
import { SqlitePoolStore } from '../../src/pool/index.js';
import { SqliteStore } from '../../src/store/index.js';
import { repetitionResult } from '../helpers/results.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'by-serve-'));
const TOKEN = 's3cret-t0ken-of-24-chars';
const EVIL = '<img src=x onerror=alert(1)>';

const cell = (id: string, index: number, level: number): MatrixCell =>
  ({
    id,
    index,
    entry: 'e',
    benchmark: 'toy',
    benchmarkVersion: 1,
    target: { name: 'here', provider: 'local', options: {} },
    params: { level, note: EVIL },
    image: 'benchyard/bench-tools:1',
    argv: ['true'],
    repetitions: 3,
    timeoutMs: 60_000,
  }) as unknown as MatrixCell;

const runRecord = (id: string, name: string, status: RunRecord['status'], startedAt: string): RunRecord => ({
  id,
  name,
  matrixPath: '/m.yaml',
  status,
  startedAt,
  cells: 2,
  repetitions: 6,
  passed: status === 'running' ? 0 : 6,
  failed: 0,
});

const result = (runId: string, cellId: string, repetition: number, speed: number): RepetitionResult =>
  repetitionResult({
    runId,
    cellId,
    repetition,
    benchmark: 'toy',
    params: { level: cellId.endsWith('1') ? 1 : 2, note: EVIL },
    machineId: 'local:vm',
    scores: [{ name: 'speed', value: speed, unit: 'op/s', direction: 'higher' }],
    startedAt: '2026-11-28T00:00:01.000Z',
    finishedAt: '2026-11-28T00:00:02.000Z',
    durationMs: 1000,
  });

const sample = (runId: string, cellId: string, seq: number, timestamp: number): MetricSample => ({
  runId,
  cellId,
  repetition: 1,
  scope: 'container',
  name: 'container.cpu.usage.cores',
  unit: 'cores',
  value: 0.9,
  timestamp,
  seq,
  containerId: 'c0ffee',
  host: 'vm',
});

let store: SqliteStore;
const servers: WebServer[] = [];
const readers: SqliteStore[] = [];

function serverOptions(over: Partial<ServeOptions> = {}): ServeOptions {
  const appJs = path.join(dir, 'app.js');
  writeFileSync(appJs, 'console.log("app")\n');
  // A second handle on the file, as `serve` has while a run in another process writes it.
  const reader = new SqliteStore(dir);
  readers.push(reader);
  return {
    host: '127.0.0.1',
    port: 0,
    reader,
    pools: () => listPools(dir),
    compare: async (q) =>
      compareSelection(await selectRuns(reader, q.runs, dir), axisOption(q.by), q.baseline),
    assets: { appJs, echartsJs: createRequire(import.meta.url).resolve('echarts/dist/echarts.min.js') },
    live: { pollMs: 100, samplesMs: 200 },
    ...over,
  };
}

async function start(over: Partial<ServeOptions> = {}): Promise<string> {
  const s = new WebServer(serverOptions(over));
  servers.push(s);
  return s.listen();
}

let base: string;
beforeAll(async () => {
  store = new SqliteStore(dir);
  await store.startRun(runRecord('r-done', 'done', 'passed', '2026-11-28T00:00:00.000Z'), [
    cell('cell-1', 0, 1),
    cell('cell-2', 1, 2),
  ]);
  for (let rep = 1; rep <= 3; rep++) {
    await store.recordResult(result('r-done', 'cell-1', rep, 100 + rep));
    await store.recordResult(result('r-done', 'cell-2', rep, 200 + rep));
  }
  await store.recordMachine({
    runId: 'r-done',
    machineId: 'local:vm',
    target: 'here',
    provider: 'local',
    instanceType: 'local',
    hostname: EVIL,
    fingerprint: '0123456789abcdef',
    collectedAt: '2026-11-28T00:00:00.500Z',
    hardware: { cpu: { model: 'Xeon Test' }, gpus: [] },
  });
  await store.finishRun({ ...runRecord('r-done', 'done', 'passed', '2026-11-28T00:00:00.000Z') });
  await store.startRun(runRecord('r-live', EVIL, 'running', '2026-11-28T01:00:00.000Z'), [
    cell('cell-1', 0, 1),
    cell('cell-2', 1, 2),
  ]);
  await store.recordResult(result('r-live', 'cell-1', 1, 101));
  await store.startRun(runRecord('r-open', 'open', 'running', '2026-11-28T00:30:00.000Z'), []);
  const pools = new SqlitePoolStore(dir);
  pools.add('lab', { host: 'gpu-1.lab', port: 2222, user: 'bench' });
  pools.dispose();
  base = await start();
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await Promise.all(readers.map((r) => r.close()));
  await store?.close();
});

async function get(url: string, headers: Record<string, string> = {}, method = 'GET') {
  const res = await fetch(url, { headers, method, redirect: 'manual' });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) };
}

describe('serve: the JSON API', () => {
  it('lists runs newest first with live progress; user text comes back as data, with a CSP', async () => {
    const res = await get(`${base}api/runs`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    expect(res.headers.get('content-security-policy')).toMatch(/^default-src 'self'/);
    const runs = res.json();
    expect(runs.map((r: { id: string }) => r.id)).toEqual(['r-live', 'r-open', 'r-done']);
    expect(runs[0]).toMatchObject({ name: EVIL, status: 'running', results: 1, passed: 1, repetitions: 6 });
    expect(runs[0].progress).toBeCloseTo(1 / 6);
    expect(runs[2]).toMatchObject({ status: 'passed', progress: 1, passed: 6 });
  });

  it("answers a run with its cells' state and median, and its machines", async () => {
    const d = (await get(`${base}api/runs/r-done`)).json();
    expect(d.run).toMatchObject({ id: 'r-done', status: 'passed' });
    expect(d.cells).toHaveLength(2);
    expect(d.cells[0]).toMatchObject({
      id: 'cell-1',
      status: 'passed',
      done: 3,
      planned: 3,
      params: { level: 1, note: EVIL },
      score: { name: 'speed', median: 102, n: 3 },
    });
    expect(d.machines).toEqual([expect.objectContaining({ hostname: EVIL, cpu: 'Xeon Test', gpus: [] })]);
    const live = (await get(`${base}api/runs/r-live`)).json();
    expect(live.cells.map((c: { status: string }) => c.status)).toEqual(['running', 'pending']);
  });

  it('compares runs with the same function as `benchyard compare`; a bad axis is a 400', async () => {
    const res = await get(`${base}api/compare?run=r-done&by=param:level`);
    expect(res.status).toBe(200);
    const c = res.json();
    const reader = serverOptions().reader as Parameters<typeof selectRuns>[0];
    expect(c).toEqual(
      JSON.parse(
        JSON.stringify(compareSelection(await selectRuns(reader, ['r-done'], dir), 'param:level', undefined)),
      ),
    );
    expect(c.rows[0].groups[1]).toMatchObject({ group: '2', n: 3 });
    const bad = await get(`${base}api/compare?run=r-done&by=colour`);
    expect(bad.status).toBe(400);
    expect(bad.json().error).toMatch(/'colour': expected one of target/);
    expect((await get(`${base}api/compare?run=nope&by=target`)).json().error).toMatch(/no run 'nope'/);
    expect((await get(`${base}api/compare?run=r-done`)).status).toBe(400);
  });

  it('answers pools as `pool list --json` prints them, and /healthz', async () => {
    const pools = (await get(`${base}api/pools`)).json();
    expect(pools).toEqual(JSON.parse(JSON.stringify(listPools(dir))));
    expect(pools.members).toEqual([expect.objectContaining({ pool: 'lab', host: 'gpu-1.lab', port: 2222 })]);
    expect((await get(`${base}healthz`)).json()).toEqual({ ok: true });
  });

  it('serves the page (no inline script) and its assets', async () => {
    const page = await get(base);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.text).toMatch(/<script src="\/assets\/app\.js" defer><\/script>/);
    expect(page.text).not.toMatch(/<script>|<script(?![^>]*\bsrc=)[^>]*>/);
    expect((await get(`${base}assets/app.js`)).text).toContain('console.log');
    expect((await get(`${base}assets/echarts.min.js`)).status).toBe(200);
  });

  it('rejects unknown paths with 404 and other methods with 405, as JSON', async () => {
    for (const p of ['nope', 'api/runs/r-done/nope', 'api', '../etc/passwd']) {
      const res = await get(`${base}${p}`);
      expect(res.status, p).toBe(404);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    }
    expect((await get(`${base}api/runs/no-such-run`)).status).toBe(404);
    expect((await get(`${base}api/runs/no-such-run/live`)).status).toBe(404);
    for (const m of ['POST', 'DELETE', 'PUT']) {
      const res = await get(`${base}api/runs`, {}, m);
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe('GET, HEAD');
    }
    const head = await get(`${base}api/runs`, {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
  });

  it('without a token, answers only requests that name a loopback host (DNS rebinding)', async () => {
    const res = await new Promise<number>((resolve, reject) =>
      http
        .get(`${base}api/runs`, { headers: { Host: 'attacker.example:80' } }, (r) => {
          r.resume();
          resolve(r.statusCode ?? 0);
        })
        .on('error', reject),
    );
    expect(res).toBe(403);
  });
});

describe('serve: tokens', () => {
  it('will not serve a non-loopback address without a token (checked before listening)', () => {
    expect(() => new WebServer(serverOptions({ host: '0.0.0.0' }))).toThrow(InputError);
    expect(() => new WebServer(serverOptions({ host: '0.0.0.0' }))).toThrow(/BENCHYARD_TOKEN/);
    expect(() => new WebServer(serverOptions({ host: '::' }))).toThrow(InputError);
    expect(() => new WebServer(serverOptions({ host: '0.0.0.0', token: '' }))).toThrow(/empty/);
    // A token anyone could guess is no token: 16 characters at least, on loopback too.
    expect(() => new WebServer(serverOptions({ host: '0.0.0.0', token: 's' }))).toThrow(/at least 16/);
    expect(() => new WebServer(serverOptions({ token: 's3cret-s3cret' }))).toThrow(InputError);
    // With a token it may: constructed, never bound here.
    expect(() => new WebServer(serverOptions({ host: '0.0.0.0', token: TOKEN }))).not.toThrow();
    expect(() => new WebServer(serverOptions({ host: 'localhost' }))).not.toThrow();
  });

  it('with a token: 401 without it, 200 with the bearer, and ?token= sets an HttpOnly SameSite=Strict cookie', async () => {
    const url = await start({ token: TOKEN });
    const none = await get(`${url}api/runs`);
    expect(none.status).toBe(401);
    expect(none.json().error).toMatch(/token is required/);
    expect(none.text).not.toContain('s3cret');
    expect((await get(`${url}api/runs`, { Authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await get(`${url}api/runs`, { Authorization: `Bearer ${TOKEN}` })).status).toBe(200);
    expect((await get(`${url}healthz`)).status).toBe(401);
    expect((await get(`${url}?token=nope`)).status).toBe(401);

    const login = await get(`${url}?token=${TOKEN}#/runs`);
    expect(login.status).toBe(303);
    expect(login.headers.get('location')).toBe('/');
    const cookie = login.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).not.toContain('s3cret');
    const session = cookie.split(';')[0]!;
    expect((await get(`${url}api/runs`, { Cookie: session })).status).toBe(200);
    expect((await get(`${url}api/runs`, { Cookie: `${session.slice(0, -4)}0000` })).status).toBe(401);
    const keep = await get(`${url}api/compare?token=${TOKEN}&by=target&run=r-done`);
    expect(keep.headers.get('location')).toBe('/api/compare?by=target&run=r-done');
  });
});

describe('serve: error bodies', () => {
  it('name no path of this machine, 4xx or 5xx, whatever the layer below said; the log keeps it', async () => {
    const logged: string[] = [];
    const file = path.join(dir, 'benchyard.db');
    const failing = serverOptions().reader;
    const url = await start({
      localPaths: [dir, '.benchyard'],
      logger: { ...silentLogger, error: (m) => logged.push(m) },
      // The layers below name the state folder, as they do on a terminal.
      pools: () => {
        throw new InputError("cannot open the pools: '.benchyard' is not a folder");
      },
      reader: Object.assign(Object.create(failing) as typeof failing, {
        getRun: async (id: string) => {
          if (id === 'broken')
            throw new InfrastructureError(`reading ${file} failed: an I/O error (SQLITE_IOERR)`);
          return failing.getRun(id);
        },
      }),
      assets: { appJs: path.join(dir, 'no-such-build', 'app.js'), echartsJs: path.join(dir, 'nope.js') },
    });
    const bodies: [string, number, string][] = [];
    for (const p of [
      'api/compare?run=nope&by=target',
      'api/compare?run=r-done&by=param:constructor&baseline=/etc/passwd',
      'api/compare?by=%2Fetc%2Fpasswd',
      'api/pools',
      'api/runs/broken',
      'assets/app.js',
      'assets/echarts.min.js',
      '../etc/passwd',
      'api/runs/%E0%A4%A',
    ]) {
      const res = await get(`${url}${p}`);
      expect(res.status, p).toBeGreaterThanOrEqual(400);
      bodies.push([p, res.status, res.text]);
    }
    expect(bodies.map(([, status]) => status)).toEqual([400, 400, 400, 400, 500, 503, 503, 404, 400]);
    expect(JSON.parse(bodies[0]![2]).error).toMatch(/no run 'nope' in '<path>'/);
    for (const [p, , body] of bodies) {
      for (const local of [dir, os.tmpdir(), os.homedir(), 'benchyard.db', '.benchyard', 'no-such-build'])
        expect(body, p).not.toContain(local);
      // Nothing that reads as an absolute path: the JSON string's text, after a quote or a space.
      expect(JSON.parse(body).error, p).not.toMatch(/(^|[\s'"(=])~?\/[\w.-]/);
    }
    expect(logged.join('\n')).toContain(file);
    expect(logged.join('\n')).toContain('no-such-build');
  });
});

/** Reads a live stream's events as they come. */
function openStream(url: string) {
  const events: { event: string; data: unknown }[] = [];
  let ended = false;
  let raw = '';
  let buffer = '';
  const req = http.get(url, (res) => {
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buffer += chunk;
      raw += chunk;
      let at: number;
      while ((at = buffer.indexOf('\n\n')) >= 0) {
        const frame = buffer.slice(0, at);
        buffer = buffer.slice(at + 2);
        const event = /^event: (.*)$/m.exec(frame)?.[1];
        const data = /^data: (.*)$/m.exec(frame)?.[1];
        if (event && data) events.push({ event, data: JSON.parse(data) });
      }
    });
    res.on('end', () => (ended = true));
    res.on('close', () => (ended = true));
  });
  req.on('error', () => (ended = true));
  const waitFor = async (pred: () => boolean, what: string) => {
    const deadline = Date.now() + 10_000;
    while (!pred()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(events)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return { events, req, waitFor, ended: () => ended, raw: () => raw };
}

describe('serve: the live stream', () => {
  it('sends a snapshot, then results, samples and the run as they are stored, and ends with the run', async () => {
    const s = openStream(`${base}api/runs/r-live/live`);
    await s.waitFor(() => s.events.length > 0, 'the snapshot');
    expect(s.events[0]!.event).toBe('snapshot');
    expect(s.events[0]!.data).toMatchObject({ run: { id: 'r-live', name: EVIL, results: 1 } });

    // Written after the client connected.
    await store.recordResult(result('r-live', 'cell-1', 2, 102));
    const now = Date.now();
    store.write([sample('r-live', 'cell-1', 1, now), sample('r-live', 'cell-1', 2, now + 200)]);
    await s.waitFor(() => s.events.some((e) => e.event === 'result'), 'a result event');
    const r = s.events.find((e) => e.event === 'result')!.data as {
      result: { repetition: number };
      cell: unknown;
    };
    expect(r.result.repetition).toBe(2);
    expect(r.cell).toMatchObject({ id: 'cell-1', done: 2, status: 'running' });
    await s.waitFor(() => s.events.some((e) => e.event === 'samples'), 'a samples event');
    const chunk = (s.events.find((e) => e.event === 'samples')!.data as { series: { points: unknown[] }[] })
      .series[0];
    expect(chunk).toMatchObject({ cellId: 'cell-1', name: 'container.cpu.usage.cores' });
    expect(chunk!.points).toEqual([
      [now, 0.9],
      [now + 200, 0.9],
    ]);
    await s.waitFor(
      () => s.events.some((e) => e.event === 'run' && (e.data as { results: number }).results === 2),
      'a run event with the new progress',
    );

    // A sample written late (an earlier timestamp) is still sent once; nothing is sent twice.
    store.write([sample('r-live', 'cell-1', 3, now - 5000)]);
    await s.waitFor(() => s.events.filter((e) => e.event === 'samples').length >= 2, 'the late sample');
    const points = s.events
      .filter((e) => e.event === 'samples')
      .flatMap((e) =>
        (e.data as { series: { points: [number, number][] }[] }).series.flatMap((c) => c.points),
      );
    expect(points.map((p) => p[0]).sort()).toEqual([now - 5000, now, now + 200]);

    await store.finishRun({ ...runRecord('r-live', EVIL, 'passed', '2026-11-28T01:00:00.000Z'), passed: 2 });
    await s.waitFor(() => s.ended(), 'the end of the stream');
    expect(s.events.at(-1)).toMatchObject({ event: 'end', data: { status: 'passed' } });
  });

  it('ends at once for a finished run; drops a client that cannot keep up; close() ends open streams', async () => {
    const done = openStream(`${base}api/runs/r-done/live`);
    await done.waitFor(() => done.ended(), 'the end of a finished run');
    expect(done.events.map((e) => e.event)).toEqual(['snapshot', 'end']);

    const tiny = await start({ live: { pollMs: 100, maxBufferedBytes: 64 } });
    const dropped = openStream(`${tiny}api/runs/r-done/live`);
    await dropped.waitFor(() => dropped.ended(), 'the dropped client');
    expect(dropped.events).toEqual([]);

    const own = new WebServer(serverOptions());
    const url = await own.listen();
    const open = openStream(`${url}api/runs/r-open/live`);
    await open.waitFor(() => open.events.length > 0, 'the snapshot');
    const t0 = Date.now();
    await own.close();
    await open.waitFor(() => open.ended(), 'the stream to end on close');
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('shares one poller among the clients of a run, sends heartbeats, and stops polling when the last leaves', async () => {
    let reads = 0;
    const opts = serverOptions({ live: { pollMs: 50, heartbeatMs: 50 } });
    const inner = opts.reader;
    // The store with its results read counted (its other methods as they are).
    opts.reader = Object.assign(Object.create(inner) as typeof inner, {
      listResults: (q: { runId?: string }) => {
        if (q.runId === 'r-open') reads++;
        return inner.listResults(q);
      },
    });
    const own = new WebServer(opts);
    servers.push(own);
    const url = await own.listen();
    const clients = [openStream(`${url}api/runs/r-open/live`), openStream(`${url}api/runs/r-open/live`)];
    for (const c of clients) await c.waitFor(() => c.events.length > 0, 'the snapshot');
    reads = 0;
    await new Promise((r) => setTimeout(r, 600));
    // One poller: about 600 / 50 reads of the results, not twice that.
    expect(reads).toBeGreaterThan(3);
    expect(reads).toBeLessThan(16);
    expect(clients[0]!.raw()).toContain(': heartbeat');
    for (const c of clients) c.req.destroy();
    await new Promise((r) => setTimeout(r, 200));
    reads = 0;
    await new Promise((r) => setTimeout(r, 300));
    expect(reads).toBe(0);
  });
});

/**
 * Docker events through the CLI: a benchmark that exits 3 is seen by the event source,
 * classified by the exit-non-zero reactor (in the run's JSON), delivered to the matrix's
 * webhook (a local HTTP server that fails its first request), and every event of its
 * container is in the SQLite store.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContainerEvent } from '../../src/events/index.js';
import { SqliteStore } from '../../src/store/index.js';
import { cli } from '../helpers/cli.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'by-e2e-events-'));
const received: { action: string; exitCode?: number; auth?: string }[] = [];
let requests = 0;
let server: http.Server;
let url: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      // The first delivery fails: the reactor must retry it.
      if (requests++ === 0) {
        res.writeHead(503).end();
        return;
      }
      const event = JSON.parse(body) as ContainerEvent;
      received.push({
        action: event.action,
        ...(event.exitCode !== undefined ? { exitCode: event.exitCode } : {}),
        ...(req.headers.authorization ? { auth: req.headers.authorization } : {}),
      });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
});
afterAll(() => new Promise((r) => server.close(r)));

interface RunJson {
  run: { id: string; status: string };
  results: { status: string; exitCode?: number; failureReason?: string }[];
  annotations: { classification: string; message: string; exitCode?: number; repetition: number }[];
}

describe('container events through the CLI', () => {
  it(
    'a benchmark exiting 3: classified, sent to the webhook after a retry, recorded',
    { timeout: 120_000 },
    async () => {
      const file = path.join(work, 'fail.yaml');
      writeFileSync(
        file,
        `name: events\nrepetitions: 1\ntargets: [{name: here, provider: local}]\nevents:\n  webhooks:\n    - url: ${url}\n      headers: {Authorization: Bearer e2e-token-123}\n      on: [die]\nbenchmarks:\n  - benchmark: {name: fails, image: benchyard/bench-tools:1, command: [sh, -c, 'echo about to fail >&2; exit 3'], network: none}\n`,
      );
      const res = await cli(['run', file, '--json', '-v'], { cwd: work });
      expect(res.code, res.stderr).toBe(1);
      const out = JSON.parse(res.stdout) as RunJson;
      expect(out.results[0]).toMatchObject({ status: 'failed', exitCode: 3 });
      expect(out.annotations).toEqual([
        expect.objectContaining({ classification: 'benchmark-error', exitCode: 3, repetition: 1 }),
      ]);
      expect(received).toEqual([{ action: 'die', exitCode: 3, auth: 'Bearer e2e-token-123' }]);
      expect(requests).toBe(2);
      expect(res.stderr).not.toMatch(/e2e-token-123/);
      const store = new SqliteStore(path.join(work, '.benchyard'));
      try {
        const actions = (await store.listEvents({ runId: out.run.id })).map((e) => e.action);
        expect(actions).toEqual(expect.arrayContaining(['create', 'start', 'die', 'destroy']));
      } finally {
        await store.close();
      }
    },
  );
});

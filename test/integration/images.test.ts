/**
 * Images by content digest against the real registry (Debian's docker-registry, started by
 * `scripts/services up registry`: 127.0.0.1:5000 here, 10.250.1.1:5000 from test host h1)
 * and h1's own engine: build a catalog image, push it, pull it into h1 by digest, survive
 * a flaky registry, and `docker save | docker load` over SSH when the registry is out of
 * h1's reach. The test builds its own small image (a fresh one per run, so the first
 * transfer is always real) and removes only what it tagged.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ssh2Connector } from '../../providers/ssh/index.js';
import { InfrastructureError, silentLogger, type Logger } from '../../src/core/index.js';
import {
  buildCatalogImage,
  ensureImage,
  listCatalog,
  pullByDigest,
  pushImage,
  RegistryClient,
  type CatalogImage,
} from '../../src/images/index.js';
import { docker } from '../helpers/services.js';
import { hostEngine, requireSshHosts, type DevSshHost } from '../helpers/remote-hosts.js';

const PUSH = process.env.BENCHYARD_TEST_REGISTRY ?? '127.0.0.1:5000';
const PORT = PUSH.split(':')[1] ?? '5000';
const PULL = `10.250.1.1:${PORT}`;
const NONCE = randomBytes(4).toString('hex');
const NAME = `it-images-${NONCE}`;

let h1: DevSshHost;
let dir: string;
let image: CatalogImage;
let repo: string;
const local = docker();

/** Like requireSshHosts: fail (never skip) with the command that fixes it. */
async function requireRegistry(): Promise<void> {
  try {
    await new RegistryClient(PUSH, { attempts: 2 }).ping(AbortSignal.timeout(10_000));
  } catch (err) {
    throw new Error(
      `no Docker registry answers on http://${PUSH}/v2/ (${(err as Error).message}); run \`scripts/services up registry\` (as root)`,
    );
  }
}

function recordingLogger(lines: string[]): Logger {
  return { ...silentLogger, warn: (m) => void lines.push(m) };
}

/** Every name of the test's image on an engine (its tag, registry tags and digests). */
async function namesOf(engine: Docker): Promise<string[]> {
  return (await engine.listImages())
    .flatMap((i) => [...(i.RepoTags ?? []), ...(i.RepoDigests ?? [])])
    .filter((n) => n.includes(`/${NAME}:`) || n.includes(`/${NAME}@`));
}

async function removeAll(engine: Docker): Promise<void> {
  for (const n of await namesOf(engine))
    await engine
      .getImage(n)
      .remove()
      .catch(() => undefined);
}

/**
 * A registry that fails: the first `fails` requests that `match` picks get a 503, the rest
 * go through to the real one untouched (Host kept, so upload URLs point back here).
 */
async function flakyRegistry(
  fails: number,
  match: (req: http.IncomingMessage) => boolean,
): Promise<{ address: string; injected: () => number; close: () => Promise<void> }> {
  let injected = 0;
  const server = http.createServer((req, res) => {
    if (injected < fails && match(req)) {
      injected++;
      req.resume();
      res.writeHead(503, { 'content-type': 'application/json' });
      return res.end('{"errors":[{"code":"UNAVAILABLE","message":"injected by the test"}]}');
    }
    const up = http.request(
      { host: '127.0.0.1', port: Number(PORT), method: req.method, path: req.url, headers: req.headers },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  // The engine tries HTTPS first on an insecure registry: drop the TLS hello.
  server.on('clientError', (_err, socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    injected: () => injected,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

beforeAll(async () => {
  [h1] = (await requireSshHosts()) as [DevSshHost];
  await requireRegistry();
  dir = mkdtempSync(path.join(os.tmpdir(), 'benchyard-images-'));
  mkdirSync(path.join(dir, NAME));
  writeFileSync(path.join(dir, NAME, 'payload'), randomBytes(512 * 1024));
  writeFileSync(
    path.join(dir, NAME, 'Dockerfile'),
    '# benchyard-image-version: 1\nFROM benchyard/base:bookworm\nCOPY payload /opt/payload\n',
  );
  [image] = (await listCatalog(dir)) as [CatalogImage];
  repo = image.ref.split(':')[0]!;
});

afterAll(async () => {
  if (h1) await removeAll(hostEngine(h1));
  await removeAll(local);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('images by content digest', () => {
  it('builds a catalog image; the digest a push reports is the one the registry serves', async () => {
    expect(image).toMatchObject({ name: NAME, version: '1', ref: `benchyard/${NAME}:1` });
    const built = await buildCatalogImage(local, image, {
      logger: silentLogger,
      signal: AbortSignal.timeout(60_000),
    });
    expect(built.built).toBe(true);
    const pushed = await pushImage(local, image.ref, PUSH);
    expect(pushed.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(pushed.id).toBe(built.id);
    expect(pushed.layers.moved).toBeGreaterThanOrEqual(1); // at least the fresh payload layer
    const registry = new RegistryClient(PUSH);
    expect(await registry.manifestDigest(repo, '1')).toBe(pushed.digest);
    expect(await registry.manifestDigest(repo, pushed.digest)).toBe(pushed.digest);
    expect(await registry.listTags(repo)).toEqual(['1']);
    expect(await registry.manifestDigest(repo, 'no-such-tag')).toBeUndefined();
  });

  it('pulls by digest into h1: h1 records that digest; a second pull moves nothing', async () => {
    const h1Docker = hostEngine(h1);
    await removeAll(h1Docker);
    const { digest, id } = await pushImage(local, image.ref, PUSH); // already there: nothing sent
    const first = await pullByDigest(h1Docker, PULL, repo, digest);
    expect(first.id).toBe(id);
    expect(first.upToDate).toBe(false);
    expect(first.layers.moved).toBeGreaterThanOrEqual(1);
    const onH1 = await h1Docker.getImage(`${PULL}/${repo}@${digest}`).inspect();
    expect(onH1.RepoDigests).toContain(`${PULL}/${repo}@${digest}`);
    const second = await pullByDigest(h1Docker, PULL, repo, digest);
    expect(second).toMatchObject({ id, upToDate: true, layers: { moved: 0 } });

    // ensureImage finds it by digest, names it as the benchmark expects, and records the digest.
    const ensured = await ensureImage(h1Docker, image.ref, {
      source: local,
      machine: 'h1',
      registry: { push: PUSH, pull: PULL },
    });
    expect(ensured).toMatchObject({ via: 'present', id, digest });
    expect((await h1Docker.getImage(image.ref).inspect()).Id).toBe(id);
  });

  it('retries a registry that answers 503, logs each retry, and gives up with a typed error', async () => {
    const pings = await flakyRegistry(2, () => true);
    const manifests = await flakyRegistry(
      2,
      (req) => req.method === 'PUT' && /\/manifests\//.test(req.url ?? ''),
    );
    const down = await flakyRegistry(Infinity, () => true);
    try {
      const logged: string[] = [];
      await new RegistryClient(pings.address, { baseDelayMs: 20, logger: recordingLogger(logged) }).ping();
      expect(pings.injected()).toBe(2);
      expect(logged).toHaveLength(2);
      expect(logged[0]).toMatch(new RegExp(`registry ${pings.address}: GET /v2/: HTTP 503 .*retry 1 of 4`));

      // The engine pushes through the proxy; its manifest upload fails twice, then lands.
      const pushLog: string[] = [];
      const pushed = await pushImage(local, image.ref, manifests.address, {
        baseDelayMs: 20,
        logger: recordingLogger(pushLog),
      });
      expect(manifests.injected()).toBe(2);
      expect(pushLog).toHaveLength(2);
      expect(pushLog[0]).toMatch(/503 Service Unavailable; retry 1 of 4/);
      expect(await new RegistryClient(PUSH).manifestDigest(repo, pushed.digest)).toBe(pushed.digest);

      const err = await new RegistryClient(down.address, { attempts: 3, baseDelayMs: 10 })
        .ping()
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InfrastructureError);
      expect((err as InfrastructureError).message).toBe(
        `registry ${down.address}: GET /v2/ failed after 3 attempt(s); last: HTTP 503 Service Unavailable`,
      );
      expect((err as InfrastructureError).meta).toMatchObject({ registry: down.address, lastStatus: 503 });
    } finally {
      await Promise.all([pings.close(), manifests.close(), down.close()]);
    }
  });

  it(
    'uses save|load over SSH when h1 cannot reach the registry; a second transfer is skipped',
    { timeout: 180_000 },
    async () => {
      await removeAll(hostEngine(h1));
      const session = await new Ssh2Connector({ logger: silentLogger }).connect(
        {
          host: h1.address,
          port: h1.port,
          user: h1.user,
          keyFile: h1.keyFile,
          knownHostsFile: h1.knownHostsFile,
          verifyHostKey: true,
          dockerSocket: h1.dockerSocket,
          readyTimeoutMs: 20_000,
        },
        AbortSignal.timeout(30_000),
      );
      try {
        // Nothing listens on port 1 of h1's gateway: the machine cannot reach that "registry".
        const opts = { source: local, machine: 'h1', registry: { push: PUSH, pull: '10.250.1.1:1' } };
        const first = await ensureImage(session.docker, image.ref, opts);
        expect(first.via).toBe('save-load');
        expect(first.fallback).toMatch(/machine 'h1' cannot reach registry 10\.250\.1\.1:1/);
        const { Id } = await local.getImage(image.ref).inspect();
        expect(first).toMatchObject({ id: Id, digest: Id });
        const second = await ensureImage(session.docker, image.ref, opts);
        expect(second.via).toBe('present');
        expect(second.id).toBe(Id);
        expect(second.ms).toBeLessThan(first.ms / 10);
      } finally {
        await session.close();
      }
    },
  );
});

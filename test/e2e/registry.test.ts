/**
 * Images through a registry in a real run: the matrix names a registry (`images.registry`,
 * as this machine pushes to it) and the SSH target's machines reach it at their own address
 * (`registry:` on the target). The run pushes the benchmark image, h1 pulls it by digest,
 * the result records that digest, and a second run moves nothing.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../src/images/index.js';
import { cli } from '../helpers/cli.js';
import { hostEngine, requireSshHosts, type DevSshHost } from '../helpers/remote-hosts.js';
import { docker } from '../helpers/services.js';

const PUSH = '127.0.0.1:5000';
const PULL = '10.250.1.1:5000';
const REPO = `benchyard-e2e/registry-${randomBytes(4).toString('hex')}`;
const IMAGE = `${REPO}:1`;
let h1: DevSshHost;
const work = mkdtempSync(path.join(os.tmpdir(), 'by-e2e-registry-'));

beforeAll(async () => {
  [h1] = (await requireSshHosts()) as [DevSshHost];
  await new RegistryClient(PUSH, { attempts: 2 }).ping(AbortSignal.timeout(10_000)).catch((err: unknown) => {
    throw new Error(`no registry on ${PUSH} (${String(err)}); run \`scripts/services up registry\``);
  });
  // A small image of its own (a fresh layer every run) on top of the base h1 already has.
  const ctx = path.join(work, 'image');
  mkdirSync(ctx);
  writeFileSync(path.join(ctx, 'payload'), randomBytes(256 * 1024));
  writeFileSync(path.join(ctx, 'Dockerfile'), 'FROM benchyard/base:bookworm\nCOPY payload /payload\n');
  execFileSync('docker', ['build', '-q', '-t', IMAGE, ctx], {
    env: { ...process.env, DOCKER_BUILDKIT: '0' },
  });
}, 120_000);

afterAll(async () => {
  for (const engine of [hostEngine(h1), docker()])
    for (const i of await engine.listImages())
      if ([...(i.RepoTags ?? []), ...(i.RepoDigests ?? [])].some((n) => n.includes(REPO)))
        await engine
          .getImage(i.Id)
          .remove({ force: true })
          .catch(() => undefined);
});

interface RunJson {
  run: { status: string };
  results: { status: string; imageDigest: string }[];
}

describe('a run that ships its images through a registry', () => {
  it(
    'pushes, h1 pulls by digest, the result records the digest; a second run moves nothing',
    { timeout: 240_000 },
    async () => {
      const file = path.join(work, 'registry.yaml');
      writeFileSync(
        file,
        `name: registry\nrepetitions: 1\nimages: {registry: '${PUSH}'}\ntargets:\n  - name: lab\n    provider: ssh\n    registry: '${PULL}'\n    hosts: [{host: ${h1.address}, dockerSocket: ${h1.dockerSocket}}]\n    ssh: {user: root, keyFile: ${h1.keyFile}, knownHosts: ${h1.knownHostsFile}}\nbenchmarks:\n  - benchmark: {name: payload, image: '${IMAGE}', command: [sh, -c, 'test -s /payload && echo ok'], network: none}\n`,
      );
      const first = await cli(['-v', 'run', file, '--json'], { cwd: work });
      expect(first.code, first.stderr).toBe(0);
      const out = JSON.parse(first.stdout) as RunJson;
      const digest = await new RegistryClient(PUSH).manifestDigest(REPO, '1');
      expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(out.results[0]).toMatchObject({ status: 'passed', imageDigest: digest });
      expect(first.stderr).toMatch(new RegExp(`${IMAGE.replace(/[/.]/g, '\\$&')} .*by digest`));
      const onH1 = await hostEngine(h1).getImage(IMAGE).inspect();
      expect(onH1.RepoDigests).toContain(`${PULL}/${REPO}@${digest}`);

      const second = await cli(['-v', 'run', file, '--json'], { cwd: work });
      expect(second.code, second.stderr).toBe(0);
      expect(second.stderr).not.toMatch(/by digest|shipped image/);
      expect((JSON.parse(second.stdout) as RunJson).results[0]!.imageDigest).toBe(digest);
    },
  );
});

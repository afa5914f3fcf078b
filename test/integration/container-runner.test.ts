import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InfrastructureError } from '../../src/core/index.js';
import { inspectImage, type RunSpec as ContainerSpec } from '../../src/engine/index.js';
import { dockerRunner } from '../helpers/docker-runner.js';
import { ArtifactDir } from '../../src/store/index.js';
import { BENCH_IMAGE, docker, managedContainers } from '../helpers/services.js';

const d = docker();
const runner = dockerRunner(d);
let n = 0;
const spec = (argv: string[], extra: Partial<ContainerSpec> = {}): ContainerSpec => ({
  name: `benchyard-test-${process.pid}-${n++}`,
  image: BENCH_IMAGE,
  argv,
  network: 'none',
  timeoutMs: 30_000,
  labels: { 'io.benchyard.managed': 'true', 'io.benchyard.run': `engine-test-${process.pid}` },
  ...extra,
});
const never = new AbortController().signal;
const gone = async (id: string) =>
  (await d
    .getContainer(id)
    .inspect()
    .catch((e: { statusCode: number }) => e.statusCode)) === 404;

describe('runContainer on the real Docker engine', () => {
  it('captures stdout and stderr separately, the exit code and engine timestamps, then removes the container', async () => {
    let labels: Record<string, string> | undefined;
    const out = await runner.run(spec(['sh', '-c', 'echo out; echo err >&2; sleep 0.3; exit 0']), {
      signal: never,
      onStarted: async ({ id, pid }) => {
        expect(pid).toBeGreaterThan(0);
        labels = (await d.getContainer(id).inspect()).Config.Labels;
      },
    });
    expect(out).toMatchObject({
      exitCode: 0,
      timedOut: false,
      cancelled: false,
      stdout: 'out\n',
      stderr: 'err\n',
    });
    expect(out.finishedAt - out.startedAt).toBeGreaterThanOrEqual(250);
    expect(labels?.['io.benchyard.run']).toBe(`engine-test-${process.pid}`);
    expect(await gone(out.containerId)).toBe(true);
  });

  it('keeps a non-zero exit code', async () => {
    const out = await runner.run(spec(['sh', '-c', 'echo boom >&2; exit 7']), { signal: never });
    expect(out).toMatchObject({ exitCode: 7, stderr: 'boom\n' });
    expect(await gone(out.containerId)).toBe(true);
  });

  it('kills a container that exceeds its timeout and removes it', async () => {
    const t0 = Date.now();
    const out = await runner.run(spec(['sleep', '30'], { timeoutMs: 1000 }), { signal: never });
    expect(out.timedOut).toBe(true);
    expect(out.exitCode).toBeUndefined();
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(await gone(out.containerId)).toBe(true);
  });

  it('stops and removes a running container when the run is cancelled', async () => {
    const ac = new AbortController();
    const pending = runner.run(spec(['sleep', '30']), {
      signal: ac.signal,
      onStarted: () => setTimeout(() => ac.abort(), 300),
    });
    const out = await pending;
    expect(out.cancelled).toBe(true);
    expect(await gone(out.containerId)).toBe(true);
  });

  it('removes the container when start fails, and says why', async () => {
    const before = await managedContainers(d);
    const err = await runner.run(spec(['/no/such/binary']), { signal: never }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InfrastructureError);
    expect((err as Error).message).toMatch(/starting container .*no such file or directory/i);
    expect(await managedContainers(d)).toEqual(before);
  });

  it('reports a missing image as an actionable infrastructure error', async () => {
    const err = await inspectImage(d, 'benchyard/does-not-exist:0', 'local').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InfrastructureError);
    expect((err as Error).message).toMatch(/not present on machine 'local'.*scripts\/services up images/);
    const info = await inspectImage(d, BENCH_IMAGE, 'local');
    expect(info.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
});

describe('runContainer: confinement and artifacts', () => {
  // cgroup v2 has the pids files at the root of the container's cgroup, v1 under pids/.
  const pidsFile = (name: string) => `f=/sys/fs/cgroup/${name}; [ -e $f ] || f=/sys/fs/cgroup/pids/${name}`;
  const confinement = `${pidsFile('pids.max')}; cat $f; grep NoNewPrivs /proc/self/status`;

  it('runs containers with a pids limit and no-new-privileges by default, each overridable', async () => {
    const byDefault = await runner.run(spec(['sh', '-c', confinement]), { signal: never });
    expect(byDefault.stdout).toMatch(/^4096\nNoNewPrivs:\s+1$/m);
    const open = await runner.run(
      spec(['sh', '-c', confinement], { policy: { pidsLimit: 'unlimited', noNewPrivileges: false } }),
      { signal: never },
    );
    expect(open.stdout).toMatch(/^max\nNoNewPrivs:\s+0$/m);
  });

  it('stops a fork bomb at the pids limit', async () => {
    const bomb = `i=0; while [ $i -lt 100 ]; do sleep 5 & i=$((i+1)); done; ${pidsFile('pids.current')}; read n < $f; echo "pids $n"`;
    const limited = await runner.run(
      spec(['sh', '-c', bomb], { policy: { pidsLimit: 32, noNewPrivileges: true } }),
      {
        signal: never,
      },
    );
    expect(limited.exitCode).not.toBe(0);
    expect(limited.stderr).toMatch(/can(no|')t fork/i);
    const open = await runner.run(
      spec(['sh', '-c', bomb], { policy: { pidsLimit: 'unlimited', noNewPrivileges: true } }),
      {
        signal: never,
      },
    );
    expect(open.stdout).toMatch(/^pids 10\d$/m);
  });

  it('streams artifacts to the store one at a time: distinct paths stay distinct, links and folders are said, caps hold', async () => {
    const store = new ArtifactDir(mkdtempSync(path.join(os.tmpdir(), 'by-art-')));
    const at = { runId: 'r', cellId: 'c', repetition: 1 };
    const script = [
      'mkdir -p /out/a /out/dir',
      'echo flat > /out/a_b',
      'echo nested > /out/a/b',
      'ln -s /etc/passwd /out/link',
      'head -c 3145728 /dev/zero > /out/big',
      'echo one > /out/c1; echo two > /out/c2',
    ].join('; ');
    const out = await runner.run(
      spec(['sh', '-c', script], {
        artifacts: [
          '/out/a_b',
          '/out/a/b',
          '/out/link',
          '/out/dir',
          '/out/missing',
          '/out/big',
          '/out/c1',
          '/out/c2',
        ],
        artifactLimits: { files: 4, bytesPerFile: 1024 * 1024 },
      }),
      { signal: never, saveArtifact: (p, data, info) => store.save(at, p, data, info) },
    );
    const kept = Object.fromEntries(out.artifacts.map((a) => [a.path, a]));
    expect(Object.keys(kept)).toEqual(['/out/a_b', '/out/a/b', '/out/big', '/out/c1']);
    expect(readFileSync(kept['/out/a_b']!.location, 'utf8')).toBe('flat\n');
    expect(readFileSync(kept['/out/a/b']!.location, 'utf8')).toBe('nested\n');
    expect(kept['/out/a_b']!.location).not.toBe(kept['/out/a/b']!.location);
    expect(kept['/out/big']).toMatchObject({ bytes: 3 * 1024 * 1024, truncated: true });
    expect(readFileSync(kept['/out/big']!.location).length).toBe(1024 * 1024);
    expect(out.artifactNotes).toEqual([
      'artifact /out/link not kept: it is a symbolic link (to "/etc/passwd"), and links are not followed',
      'artifact /out/dir not kept: it is a directory, not a file',
      'artifact /out/missing not kept: the container did not write it',
      'artifact /out/big truncated: 3 MiB in the container, the first 1 MiB kept (the cap per artifact)',
      'artifact /out/c2 not kept: the repetition already keeps 4 artifacts (the cap)',
    ]);
    expect(await gone(out.containerId)).toBe(true);
  });

  it("stops keeping artifacts at the repetition's byte cap", async () => {
    const store = new ArtifactDir(mkdtempSync(path.join(os.tmpdir(), 'by-art-')));
    const out = await runner.run(
      spec(['sh', '-c', 'for f in 1 2 3; do head -c 1048576 /dev/zero > /out$f; done'], {
        artifacts: ['/out1', '/out2', '/out3'],
        artifactLimits: { bytes: 1.5 * 1024 * 1024 },
      }),
      {
        signal: never,
        saveArtifact: (p, data, info) =>
          store.save({ runId: 'r', cellId: 'c', repetition: 2 }, p, data, info),
      },
    );
    expect(out.artifacts.map((a) => [a.path, a.truncated])).toEqual([
      ['/out1', false],
      ['/out2', true],
    ]);
    expect(out.artifactNotes).toEqual([
      "artifact /out2 truncated: 1 MiB in the container, the first 0.5 MiB kept (the repetition's cap)",
      "artifact /out3 not kept: the repetition's artifacts reached 1.5 MiB (the cap)",
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import { InfrastructureError, silentLogger } from '../../src/core/index.js';
import { ContainerRunner, inspectImage, type ContainerSpec } from '../../src/engine/index.js';
import { BENCH_IMAGE, docker, managedContainers } from '../helpers/services.js';

const d = docker();
const runner = new ContainerRunner(d, silentLogger);
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

describe('ContainerRunner on the real Docker engine', () => {
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

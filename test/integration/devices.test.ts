/**
 * Device passthrough on the real Docker engine. The device node is made with mknod as
 * 195:0 (NVIDIA's major: not in Docker's default allow list, and no driver for it here), so
 * "passed through" shows as ENXIO (the node opens as far as the kernel's driver lookup) and
 * "not passed" as EPERM (the device cgroup refuses it) — the difference the request makes.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InfrastructureError, NO_REQUIREMENTS, type Requirements } from '../../src/core/index.js';
import type { RunSpec as ContainerSpec } from '../../src/engine/index.js';
import { dockerRunner } from '../helpers/docker-runner.js';
import { BENCH_IMAGE, docker } from '../helpers/services.js';

const d = docker();
const runner = dockerRunner(d);
const RUN = `devices-test-${process.pid}`;
let dir: string;
let node: string;
let n = 0;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'by-dev-'));
  node = path.join(dir, 'fake0');
  execFileSync('mknod', [node, 'c', '195', '0']);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const spec = (access: Partial<Requirements>, extra: Partial<ContainerSpec> = {}): ContainerSpec => ({
  name: `benchyard-devtest-${process.pid}-${n++}`,
  image: BENCH_IMAGE,
  // Opens the node read-only and says how that went (dash prints the errno's text).
  argv: ['sh', '-c', 'if exec 3</dev/fake0; then echo opened; fi'],
  network: 'none',
  timeoutMs: 30_000,
  labels: { 'io.benchyard.managed': 'true', 'io.benchyard.run': RUN },
  access: { ...NO_REQUIREMENTS, ...access },
  ...extra,
});
const never = new AbortController().signal;
const leftovers = async () =>
  (await d.listContainers({ all: true, filters: { label: [`io.benchyard.run=${RUN}`] } })).map((c) => c.Id);

describe('device passthrough on the real Docker engine', () => {
  it('a device node passed with Devices opens inside as far as the driver (ENXIO, not EPERM)', async () => {
    const out = await runner.run(
      spec({ devices: [{ host: node, container: '/dev/fake0', permissions: 'rwm' }] }),
      { signal: never },
    );
    expect(out.stderr).toMatch(/No such device or address/);
    expect(out.stderr).not.toMatch(/Operation not permitted/);
  });

  it('the same node without the request: absent, and bind-mounted it is refused by the device cgroup (EPERM)', async () => {
    const absent = await runner.run(spec({}), { signal: never });
    expect(absent.stderr).toMatch(/No such file/);
    const mounted = await runner.run(spec({}, { readOnlyMounts: { [node]: '/dev/fake0' } }), {
      signal: never,
    });
    expect(mounted.stderr).toMatch(/Operation not permitted/);
  });

  it('a cgroup rule for a pattern (c 195:* rwm) lets the bind-mounted node open (ENXIO)', async () => {
    const out = await runner.run(
      spec({ deviceCgroupRules: ['c 195:* rwm'] }, { readOnlyMounts: { [node]: '/dev/fake0' } }),
      {
        signal: never,
      },
    );
    expect(out.stderr).toMatch(/No such device or address/);
  });

  it('a GPU request on an engine without the NVIDIA runtime is a clear error and leaves no container', async () => {
    const failed = await runner.run(spec({ gpu: { count: 1 } }), { signal: never }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failed).toBeInstanceOf(InfrastructureError);
    expect((failed as Error).message).toMatch(/has no NVIDIA runtime.*nvidia-container-toolkit/);
    expect((failed as Error).message).toMatch(
      /could not select device driver "nvidia" with capabilities: \[\[gpu\]\]/,
    );
    expect(await leftovers()).toEqual([]);
  });

  it('a device the machine does not have is named in the error, and no container is left', async () => {
    const failed = await runner
      .run(
        spec({ devices: [{ host: '/dev/xdma0_user', container: '/dev/xdma0_user', permissions: 'rw' }] }),
        {
          signal: never,
        },
      )
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    expect(failed).toBeInstanceOf(InfrastructureError);
    expect((failed as Error).message).toMatch(
      /asks for device \/dev\/xdma0_user, which this machine does not have/,
    );
    expect(await leftovers()).toEqual([]);
  });

  it('never privileged unless asked', async () => {
    let privileged: boolean | undefined;
    await runner.run(spec({}, { argv: ['sleep', '1'] }), {
      signal: never,
      onStarted: async ({ id }) => {
        privileged = (await d.getContainer(id).inspect()).HostConfig.Privileged;
      },
    });
    expect(privileged).toBe(false);
  });
});

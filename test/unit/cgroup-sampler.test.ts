import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { MetricSample } from '../../src/core/index.js';
import { cgroupOf, ContainerSampler, statField } from '../../src/metrics/index.js';
import { ManualClock } from '../helpers/manual-clock.js';

/** A fake /proc + /sys tree: the filesystem is the port the collector reads through. */
function fakeRoot(layout: 'v1' | 'v2') {
  const root = mkdtempSync(path.join(os.tmpdir(), 'by-cgroup-'));
  const write = (rel: string, text: string) => {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), text);
  };
  if (layout === 'v2') {
    write('proc/42/cgroup', '0::/system.slice/docker-abc.scope\n');
    const dir = 'sys/fs/cgroup/system.slice/docker-abc.scope';
    return {
      root,
      set(cpuNs: number, memory: number, inactive: number) {
        write(`${dir}/cpu.stat`, `usage_usec ${cpuNs / 1000}\nuser_usec 1\n`);
        write(`${dir}/memory.current`, `${memory}\n`);
        write(`${dir}/memory.stat`, `anon 1\ninactive_file ${inactive}\nactive_file 3\n`);
      },
    };
  }
  write(
    'proc/42/cgroup',
    '8:pids:/docker/abc\n4:memory:/docker/abc\n2:cpuacct:/docker/abc\n1:cpu:/docker/abc\n0::/\n',
  );
  return {
    root,
    set(cpuNs: number, memory: number, inactive: number) {
      write('sys/fs/cgroup/cpuacct/docker/abc/cpuacct.usage', `${cpuNs}\n`);
      write('sys/fs/cgroup/memory/docker/abc/memory.usage_in_bytes', `${memory}\n`);
      write('sys/fs/cgroup/memory/docker/abc/memory.stat', `cache 9\ntotal_inactive_file ${inactive}\n`);
    },
  };
}

describe('cgroup files', () => {
  it.each(['v1', 'v2'] as const)('reads CPU ns and memory minus inactive_file (%s)', async (layout) => {
    const fs = fakeRoot(layout);
    fs.set(2_500_000_000, 10_000, 4_000);
    const files = await cgroupOf(42, fs.root);
    expect(files.version).toBe(layout === 'v1' ? 1 : 2);
    expect(await files.read()).toEqual({ cpuNs: 2_500_000_000, memoryBytes: 6_000 });
  });

  it('statField finds whole keys only', () => {
    expect(statField('total_inactive_file 5\ninactive_file 7\n', 'inactive_file')).toBe(7);
    expect(statField('x 1\n', 'missing')).toBe(0);
  });
});

describe('ContainerSampler', () => {
  it('emits memory at once, CPU as a rate from the second tick, nothing on a counter reset', async () => {
    const fs = fakeRoot('v2');
    const clock = new ManualClock();
    const samples: MetricSample[] = [];
    fs.set(1_000_000_000, 8_000, 0);
    const sampler = new ContainerSampler(
      { runId: 'r', cellId: 'c', repetition: 1, containerId: 'abc', host: 'h' },
      { intervalMs: 1000, emit: (s) => samples.push(...s), clock, fsRoot: fs.root },
    );
    sampler.start(42);
    await vi.waitFor(() => expect(samples).toHaveLength(1));
    expect(samples[0]).toMatchObject({
      name: 'container.memory.usage.bytes',
      value: 8000,
      seq: 0,
      scope: 'container',
    });

    fs.set(1_500_000_000, 9_000, 0); // +0.5 s of CPU in 1 s → 0.5 cores
    clock.advance(1000);
    await vi.waitFor(() => expect(samples).toHaveLength(3));
    expect(samples.find((s) => s.name === 'container.cpu.usage.cores')).toMatchObject({
      value: 0.5,
      seq: 0,
      unit: 'cores',
    });

    fs.set(100, 9_000, 0); // counter reset: no CPU value, never a negative spike
    clock.advance(1000);
    await vi.waitFor(() => expect(samples).toHaveLength(4));
    expect(samples.filter((s) => s.name === 'container.cpu.usage.cores')).toHaveLength(1);

    expect(await sampler.finish()).toEqual({
      samples: 3,
      cpuCoresMean: 0.5,
      cpuCoresMax: 0.5,
      memoryBytesMax: 9000,
    });
    expect(samples.filter((s) => s.name === 'container.memory.usage.bytes').map((s) => s.seq)).toEqual([
      0, 1, 2,
    ]);
  });

  it('samples nothing for a container that already exited', async () => {
    const samples: MetricSample[] = [];
    const sampler = new ContainerSampler(
      { runId: 'r', cellId: 'c', repetition: 1, containerId: 'x', host: 'h' },
      {
        intervalMs: 1000,
        emit: (s) => samples.push(...s),
        fsRoot: mkdtempSync(path.join(os.tmpdir(), 'by-none-')),
      },
    );
    sampler.start(999_999);
    expect(await sampler.finish()).toEqual({ samples: 0 });
    expect(samples).toEqual([]);
  });
});

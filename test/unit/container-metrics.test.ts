import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { MetricSample } from '../../src/core/index.js';
import {
  blkioSum,
  cgroupOf,
  ContainerCollector,
  MachineMonitor,
  parseAppLine,
  parseIoStat,
  parseNetDev,
  statField,
} from '../../src/metrics/index.js';
import { ManualClock } from '../helpers/manual-clock.js';

const NET_DEV = (rx: number, tx: number) =>
  `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     100       1    0    0    0     0          0         0      100       1    0    0    0     0       0          0
  eth0: ${rx}       2    0    0    0     0          0         0 ${tx}       0    0    0    0     0       0          0
`;

interface Counters {
  cpuNs: number;
  memory: number;
  inactive: number;
  periods?: number;
  throttled?: number;
  read?: number;
  write?: number;
  pids?: number;
  rx?: number;
  tx?: number;
}

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
      set(c: Counters) {
        write(
          `${dir}/cpu.stat`,
          `usage_usec ${c.cpuNs / 1000}\nuser_usec 1\nnr_periods ${c.periods ?? 0}\nnr_throttled ${c.throttled ?? 0}\n`,
        );
        write(`${dir}/memory.current`, `${c.memory}\n`);
        write(`${dir}/memory.stat`, `anon 1\ninactive_file ${c.inactive}\nactive_file 3\n`);
        write(
          `${dir}/io.stat`,
          `8:0 rbytes=${c.read ?? 0} wbytes=${c.write ?? 0} rios=1 wios=2 dbytes=0 dios=0\n`,
        );
        write(`${dir}/pids.current`, `${c.pids ?? 1}\n`);
        write('proc/42/net/dev', NET_DEV(c.rx ?? 0, c.tx ?? 0));
      },
    };
  }
  write(
    'proc/42/cgroup',
    '8:pids:/docker/abc\n7:blkio:/docker/abc\n4:memory:/docker/abc\n2:cpuacct:/docker/abc\n1:cpu:/docker/abc\n0::/\n',
  );
  return {
    root,
    set(c: Counters) {
      write('sys/fs/cgroup/cpuacct/docker/abc/cpuacct.usage', `${c.cpuNs}\n`);
      write(
        'sys/fs/cgroup/cpu/docker/abc/cpu.stat',
        `nr_periods ${c.periods ?? 0}\nnr_throttled ${c.throttled ?? 0}\nthrottled_time 0\n`,
      );
      write('sys/fs/cgroup/memory/docker/abc/memory.usage_in_bytes', `${c.memory}\n`);
      write('sys/fs/cgroup/memory/docker/abc/memory.stat', `cache 9\ntotal_inactive_file ${c.inactive}\n`);
      write(
        'sys/fs/cgroup/blkio/docker/abc/blkio.throttle.io_service_bytes_recursive',
        `8:0 Read ${c.read ?? 0}\n8:0 Write ${c.write ?? 0}\n8:0 Total 0\nTotal 0\n`,
      );
      write(
        'sys/fs/cgroup/blkio/docker/abc/blkio.throttle.io_serviced_recursive',
        `8:0 Read 1\n8:0 Write 2\n`,
      );
      write('sys/fs/cgroup/pids/docker/abc/pids.current', `${c.pids ?? 1}\n`);
      write('proc/42/net/dev', NET_DEV(c.rx ?? 0, c.tx ?? 0));
    },
  };
}

describe('cgroup files', () => {
  it.each(['v1', 'v2'] as const)(
    'reads CPU, throttling, memory minus inactive_file, I/O, pids, network (%s)',
    async (layout) => {
      const fs = fakeRoot(layout);
      fs.set({
        cpuNs: 2_500_000_000,
        memory: 10_000,
        inactive: 4_000,
        periods: 10,
        throttled: 3,
        read: 512,
        write: 4096,
        pids: 7,
        rx: 300,
        tx: 50,
      });
      const files = await cgroupOf(42, fs.root);
      expect(files.version).toBe(layout === 'v1' ? 1 : 2);
      expect(await files.read()).toEqual({
        cpuNs: 2_500_000_000,
        cpuPeriods: 10,
        cpuThrottledPeriods: 3,
        memoryBytes: 6_000,
        ioReadBytes: 512,
        ioWriteBytes: 4096,
        ioOps: 3,
        pids: 7,
        net: new Map([['eth0', { rxBytes: 300, txBytes: 50 }]]),
      });
    },
  );

  it('parses the stat formats by whole keys', () => {
    expect(statField('total_inactive_file 5\ninactive_file 7\n', 'inactive_file')).toBe(7);
    expect(statField('x 1\n', 'missing')).toBe(0);
    expect(blkioSum('8:0 Read 10\n8:16 Read 5\n8:0 Write 1\nTotal 16\n', 'Read')).toBe(15);
    expect(
      parseIoStat('8:0 rbytes=1 wbytes=2 rios=3 wios=4\n8:16 rbytes=10 wbytes=0 rios=0 wios=1\n'),
    ).toEqual({
      rbytes: 11,
      wbytes: 2,
      rios: 3,
      wios: 5,
    });
    expect([...parseNetDev(NET_DEV(1, 2)).keys()]).toEqual(['eth0']);
  });
});

describe('ContainerCollector', () => {
  it('reports levels at once, rates from the second reading, and nothing on a counter reset', async () => {
    const fs = fakeRoot('v1');
    const c = new ContainerCollector('abc', 42, fs.root);
    fs.set({ cpuNs: 1e9, memory: 8000, inactive: 0, periods: 100, throttled: 0, write: 0, rx: 0, tx: 0 });
    const first = await c.collect(1000);
    expect(first.map((r) => r.name).sort()).toEqual(['container.memory.usage.bytes', 'container.pids.count']);

    // +0.5 s CPU in 1 s, 10 of 20 periods throttled, 1 MiB written, 2000 bytes received.
    fs.set({
      cpuNs: 1.5e9,
      memory: 9000,
      inactive: 0,
      periods: 120,
      throttled: 10,
      write: 1 << 20,
      rx: 2000,
      tx: 0,
    });
    const byName = Object.fromEntries(
      (await c.collect(2000)).map((r) => [r.name + (r.device ? `:${r.device}` : ''), r.value]),
    );
    expect(byName).toMatchObject({
      'container.cpu.usage.cores': 0.5,
      'container.cpu.throttled.pct': 50,
      'container.disk.write.bytes_per_sec': 1 << 20,
      'container.network.rx.bytes_per_sec:eth0': 2000,
      'container.memory.usage.bytes': 9000,
    });

    fs.set({ cpuNs: 100, memory: 9000, inactive: 0, periods: 1, throttled: 0, write: 0, rx: 0, tx: 0 }); // counters reset
    const afterReset = (await c.collect(3000)).map((r) => r.name + (r.device ? `:${r.device}` : ''));
    for (const gone of [
      'container.cpu.usage.cores',
      'container.cpu.throttled.pct',
      'container.disk.write.bytes_per_sec',
      'container.network.rx.bytes_per_sec:eth0',
    ])
      expect(afterReset).not.toContain(gone);
    expect(afterReset).toContain('container.memory.usage.bytes');
  });

  it('yields nothing for a container that already exited', async () => {
    const c = new ContainerCollector('x', 999_999, mkdtempSync(path.join(os.tmpdir(), 'by-none-')));
    expect(await c.collect(1)).toEqual([]);
  });
});

describe('MachineMonitor', () => {
  it('stamps readings with the repetition, per-series sequence numbers and strictly increasing times', async () => {
    const fs = fakeRoot('v2');
    fs.set({ cpuNs: 1e9, memory: 8000, inactive: 0 });
    const clock = new ManualClock();
    const out: MetricSample[] = [];
    const monitor = new MachineMonitor({
      host: 'h',
      intervalMs: 1000,
      output: { write: (s) => out.push(...s) },
      fsRoot: fs.root,
      clock,
    });
    await monitor.start('run1');
    const watch = monitor.watch({ runId: 'run1', cellId: 'c1', repetition: 2 }, { id: 'abc', pid: 42 });
    await vi.waitFor(() => expect(out.length).toBeGreaterThan(0));
    fs.set({ cpuNs: 1.5e9, memory: 9000, inactive: 0 });
    clock.advance(1000);
    await vi.waitFor(() => expect(out.some((s) => s.name === 'container.cpu.usage.cores')).toBe(true));
    // Two app lines in the same millisecond: both kept, the second one millisecond later.
    watch.line('@benchyard metric=progress value=1 unit=steps');
    watch.line('@benchyard metric=progress value=2 unit=steps');
    watch.line('not a metric line');
    const summary = await watch.finish();
    await monitor.stop();

    expect(summary).toEqual({ samples: 2, cpuCoresMean: 0.5, cpuCoresMax: 0.5, memoryBytesMax: 9000 });
    const app = out.filter((s) => s.scope === 'app');
    expect(app.map((s) => [s.value, s.seq, s.cellId, s.repetition, s.unit])).toEqual([
      [1, 0, 'c1', 2, 'steps'],
      [2, 1, 'c1', 2, 'steps'],
    ]);
    expect(app[1]!.timestamp).toBe(app[0]!.timestamp + 1);
    const mem = out.filter((s) => s.name === 'container.memory.usage.bytes');
    expect(mem.map((s) => s.seq)).toEqual([0, 1]);
    expect(mem.every((s) => s.host === 'h' && s.containerId === 'abc')).toBe(true);
    // Self-monitoring on stop, between repetitions.
    expect(out.find((s) => s.name === 'collector.cpu.seconds')).toMatchObject({
      scope: 'collector',
      cellId: '',
      repetition: 0,
    });
  });

  it('holds samples in quiet mode until the repetition ends', async () => {
    const fs = fakeRoot('v2');
    fs.set({ cpuNs: 1e9, memory: 8000, inactive: 0 });
    const clock = new ManualClock();
    const writes: number[] = [];
    const monitor = new MachineMonitor({
      host: 'h',
      intervalMs: 1000,
      output: { write: (s) => writes.push(s.length) },
      fsRoot: fs.root,
      clock,
      quiet: true,
    });
    await monitor.start('r');
    const watch = monitor.watch({ runId: 'r', cellId: 'c', repetition: 1 }, { id: 'abc', pid: 42 });
    watch.line('@benchyard metric=x value=1');
    clock.advance(1000);
    await new Promise((r) => setTimeout(r, 20));
    expect(writes).toEqual([]);
    await watch.finish();
    expect(writes).toHaveLength(1);
    expect(writes[0]).toBeGreaterThanOrEqual(3);
    await monitor.stop();
  });

  it('parses the documented app line format and refuses malformed lines', () => {
    expect(parseAppLine('@benchyard metric=fps value=59.5 unit=1/s', 5, 'c')).toEqual({
      scope: 'app',
      name: 'fps',
      unit: '1/s',
      value: 59.5,
      timestamp: 5,
      containerId: 'c',
    });
    expect(parseAppLine('@benchyard metric=fps value=abc', 5)).toBeUndefined();
    expect(parseAppLine('@benchyard metric=a/b value=1', 5)).toBeUndefined();
    expect(parseAppLine('  @benchyard metric=x value=1', 5)).toBeUndefined();
  });
});

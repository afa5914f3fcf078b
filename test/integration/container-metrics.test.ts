import { afterAll, describe, expect, it } from 'vitest';
import type { MetricSample } from '../../src/core/index.js';
import { dockerRunner } from '../helpers/docker-runner.js';
import { cgroupOf, MachineMonitor } from '../../src/metrics/index.js';
import { BENCH_IMAGE, docker } from '../helpers/services.js';
import { LocalProvider } from '../../providers/local/index.js';

const d = docker();
const started: string[] = [];
afterAll(async () => {
  await Promise.all(
    started.map((id) =>
      d
        .getContainer(id)
        .remove({ force: true })
        .catch(() => undefined),
    ),
  );
});

describe('container metrics on real containers', () => {
  it('sees a CPU + memory + direct-I/O benchmark through cgroup files, with live app lines', async () => {
    const machine = await new LocalProvider().acquire(
      { name: 'h', provider: 'local', options: {} },
      new AbortController().signal,
    );
    const out: MetricSample[] = [];
    const monitor = new MachineMonitor({
      host: 'h',
      intervalMs: 250,
      output: { write: (s) => out.push(...s) },
    });
    await monitor.start('r');
    let watch: ReturnType<MachineMonitor['watch']> | undefined;
    await dockerRunner(d).run(
      {
        name: `benchyard-metrics-${process.pid}`,
        image: BENCH_IMAGE,
        argv: [
          'sh',
          '-c',
          'stress-ng --cpu 1 --vm 1 --vm-bytes 64M --vm-keep --timeout 3s & ' +
            'for i in 1 2 3; do echo "@benchyard metric=step value=$i unit=steps"; sleep 0.5; done; ' +
            'dd if=/dev/zero of=/var/tmp/x bs=1M count=64 oflag=direct 2>/dev/null; wait',
        ],
        labels: { 'io.benchyard.managed': 'true' },
        network: 'none',
        timeoutMs: 30_000,
        ioAccountingDevices: machine.ioAccountingDevices ?? [],
      },
      {
        signal: new AbortController().signal,
        onStarted: (c) => (watch = monitor.watch({ runId: 'r', cellId: 'c', repetition: 1 }, c)),
        onStdoutLine: (line) => watch?.line(line),
      },
    );
    const summary = await watch!.finish();
    await monitor.stop();
    // stress-ng: one CPU worker plus one VM worker touching 64 MiB: about 2 cores busy on
    // this 2-core machine, never more than the machine has.
    expect(summary.samples).toBeGreaterThanOrEqual(8);
    expect(summary.cpuCoresMean).toBeGreaterThan(0.8);
    expect(summary.cpuCoresMax).toBeLessThan(2.3);
    expect(summary.memoryBytesMax).toBeGreaterThan(60 * 1024 * 1024);
    const names = new Set(out.map((s) => s.name));
    expect(names).toContain('container.pids.count');
    expect(out.filter((s) => s.scope === 'app').map((s) => s.value)).toEqual([1, 2, 3]);
    // 64 MiB written with O_DIRECT, seen in blkio (cgroup v1, with the accounting rule) or io.stat (v2).
    const written = out
      .filter((s) => s.name === 'container.disk.write.bytes_per_sec')
      .reduce((sum, s) => sum + s.value * 0.25, 0);
    expect(written).toBeGreaterThan(48 * 1024 * 1024);
    const seqs = out.filter((s) => s.name === 'container.memory.usage.bytes').map((s) => s.seq);
    expect(seqs).toEqual([...seqs.keys()]);
  });

  it.each([0.5, 1.5])(
    'reports CPU within ±1 point of the cgroup counter for a busy loop limited to %s CPUs',
    async (cpus) => {
      const c = await d.createContainer({
        Image: BENCH_IMAGE,
        Cmd: ['stress-ng', '--cpu', '2', '--timeout', '20s'],
        Labels: { 'io.benchyard.managed': 'true' },
        HostConfig: { NanoCpus: cpus * 1e9, NetworkMode: 'none' },
      });
      started.push(c.id);
      await c.start();
      const pid = (await c.inspect()).State.Pid;
      const files = await cgroupOf(pid);
      const out: MetricSample[] = [];
      const monitor = new MachineMonitor({
        host: 'h',
        intervalMs: 100,
        output: { write: (s) => out.push(...s) },
      });
      await new Promise((r) => setTimeout(r, 500)); // past stress-ng's start-up
      await monitor.start('r');
      const before = { t: Date.now(), ns: (await files.read()).cpuNs };
      const watch = monitor.watch({ runId: 'r', cellId: 'c', repetition: 1 }, { id: c.id, pid });
      await new Promise((r) => setTimeout(r, 4000));
      const after = { t: Date.now(), ns: (await files.read()).cpuNs };
      await watch.finish();
      await monitor.stop();
      await c.kill().catch(() => undefined);
      const truthPct = (100 * (after.ns - before.ns)) / 1e6 / (after.t - before.t);
      const cpu = out.filter((s) => s.name === 'container.cpu.usage.cores').map((s) => s.value * 100);
      const meanPct = cpu.reduce((a, b) => a + b, 0) / cpu.length;
      expect(cpu.length).toBeGreaterThan(30);
      expect(Math.abs(meanPct - truthPct)).toBeLessThanOrEqual(1);
      // The limit holds (sanity). On a busy machine the container may get less than its limit
      // (under `stress-ng --cpu 1` here a 1.5-CPU container gets ~1.1): never more.
      expect(truthPct).toBeLessThan(cpus * 100 + 10);
      expect(truthPct).toBeGreaterThan(10);
      // Throttled only where the limit was what held it back.
      if (truthPct > cpus * 100 - 10)
        expect(out.some((s) => s.name === 'container.cpu.throttled.pct' && s.value > 0)).toBe(true);
    },
  );
});

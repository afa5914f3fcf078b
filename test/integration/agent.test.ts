/**
 * The metrics agent as it runs on a remote machine: its own container beside the
 * benchmark, the host's /proc and /sys read-only, batches handed back over the attach
 * stream. Here the "remote" machine is this one's Docker engine, so both paths (agent and
 * in-process) can be held against each other. Needs `npm run build` (the bundled agent).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { AgentMonitor } from '../../src/agent/agent-monitor.js';
import { DEFAULT_METRICS_POLICY, type MetricSample } from '../../src/core/index.js';
import { dockerRunner } from '../helpers/docker-runner.js';
import { ROOT } from '../helpers/catalog.js';
import { BENCH_IMAGE, docker } from '../helpers/services.js';
import path from 'node:path';

const d = docker();
const files = {
  dockerfile: path.join(ROOT, 'images/agent/Dockerfile'),
  bundle: path.join(ROOT, 'dist/agent/agent.cjs'),
};
const agents = () =>
  d.listContainers({
    all: true,
    filters: { label: ['io.benchyard.role=agent', `io.benchyard.session=agent-test-${process.pid}`] },
  });

afterAll(async () => {
  for (const c of await agents()) await d.getContainer(c.Id).remove({ force: true });
});

describe('metrics agent', () => {
  it(
    'samples a benchmark container, the host and itself from its own container and hands the batches back',
    { timeout: 300_000 },
    async () => {
      const out: MetricSample[] = [];
      const monitor = new AgentMonitor({
        docker: d,
        files,
        host: 'agent-host',
        intervalMs: 250,
        policy: { ...DEFAULT_METRICS_POLICY, gpu: false },
        sink: { write: (s) => out.push(...s), flush: async () => {}, close: async () => {} },
        labels: { 'io.benchyard.session': `agent-test-${process.pid}` },
      });
      await monitor.start('agent-run');
      let watch: ReturnType<AgentMonitor['watch']> | undefined;
      try {
        await dockerRunner(d).run(
          {
            name: `benchyard-agent-bench-${process.pid}`,
            image: BENCH_IMAGE,
            argv: [
              'sh',
              '-c',
              'stress-ng --cpu 1 --vm 1 --vm-bytes 64M --vm-keep --timeout 3s & echo "@benchyard metric=phase value=1"; wait',
            ],
            labels: { 'io.benchyard.managed': 'true' },
            network: 'none',
            timeoutMs: 30_000,
          },
          {
            signal: new AbortController().signal,
            onStarted: (c) => (watch = monitor.watch({ runId: 'agent-run', cellId: 'c', repetition: 1 }, c)),
            onStdoutLine: (line) => watch?.line(line),
          },
        );
        const summary = await watch!.finish();
        expect(summary.samples).toBeGreaterThanOrEqual(8);
        expect(summary.cpuCoresMean).toBeGreaterThan(0.8);
        expect(summary.memoryBytesMax).toBeGreaterThan(60 * 1024 * 1024);

        // A control repetition's quiet period: the agent samples nothing until resumed.
        const resume = await monitor.quiesce();
        expect(resume).toBeTypeOf('function');
        const quietFrom = Date.now();
        await new Promise((r) => setTimeout(r, 1500));
        const quietTo = Date.now();
        resume!();
        await new Promise((r) => setTimeout(r, 1500));
        const hostTimes = out.filter((s) => s.scope === 'host').map((s) => s.timestamp);
        expect(hostTimes.filter((t) => t > quietFrom + 100 && t < quietTo - 100)).toEqual([]);
        expect(hostTimes.some((t) => t > quietTo)).toBe(true);
      } finally {
        await monitor.stop();
      }
      expect(await agents()).toEqual([]); // removed whatever happened
      const names = new Set(out.map((s) => s.name));
      for (const n of [
        'container.cpu.usage.cores',
        'container.memory.usage.bytes',
        'host.cpu.usage.pct',
        'host.memory.used.bytes',
        'collector.cpu.seconds',
      ])
        expect(names).toContain(n);
      expect(out.filter((s) => s.scope === 'app').map((s) => [s.name, s.value, s.cellId])).toEqual([
        ['phase', 1, 'c'],
      ]);
      expect(out.every((s) => s.host === 'agent-host' && s.runId === 'agent-run')).toBe(true);
      // The host seen from inside the agent's container is this machine: its loopback carries the Docker API traffic.
      expect(out.some((s) => s.name === 'host.network.rx.bytes_per_sec')).toBe(true);
    },
  );
});

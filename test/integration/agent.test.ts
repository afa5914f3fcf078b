/**
 * The metrics agent as it runs on a remote machine: its own container beside the
 * benchmark, the host's /proc and /sys read-only, batches handed back over the attach
 * stream. Here the "remote" machine is this one's Docker engine, so both paths (agent and
 * in-process) can be held against each other. Needs `npm run build` (the bundled agent).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { AgentMonitor } from '../../src/agent/agent-monitor.js';
import { dockerAgent, dockerAgentChannel } from '../../src/agent/docker-channel.js';
import { machineMonitor } from '../../src/cli/monitors.js';
import {
  DEFAULT_METRICS_POLICY,
  silentLogger,
  type AgentLaunch,
  type Engine,
  type Machine,
  type MetricSample,
} from '../../src/core/index.js';
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
        open: dockerAgent(d, {
          files,
          host: 'agent-host',
          labels: { 'io.benchyard.session': `agent-test-${process.pid}` },
          logger: silentLogger,
        }),
        host: 'agent-host',
        intervalMs: 250,
        policy: { ...DEFAULT_METRICS_POLICY, gpu: false },
        sink: { write: (s) => out.push(...s), flush: async () => {}, close: async () => {} },
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

        // A pod's container comes by its id alone (pid 0): the agent finds its processes by their cgroup.
        let byId: ReturnType<AgentMonitor['watch']> | undefined;
        await dockerRunner(d).run(
          {
            name: `benchyard-agent-byid-${process.pid}`,
            image: BENCH_IMAGE,
            argv: ['stress-ng', '--cpu', '1', '--timeout', '3s'],
            labels: { 'io.benchyard.managed': 'true' },
            network: 'none',
            timeoutMs: 30_000,
          },
          {
            signal: new AbortController().signal,
            onStarted: (c) =>
              (byId = monitor.watch(
                { runId: 'agent-run', cellId: 'by-id', repetition: 1 },
                { id: c.id, pid: 0 },
              )),
          },
        );
        const found = await byId!.finish();
        expect(found.samples).toBeGreaterThanOrEqual(6);
        expect(found.cpuCoresMean).toBeGreaterThan(0.5);

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

  it(
    "an engine that starts its own agent (a pod) gets the image by digest from the run's registry",
    { timeout: 300_000 },
    async () => {
      // A stand-in for a cluster node: pulls what it is told by digest, runs the agent on this engine.
      const launches: AgentLaunch[] = [];
      const engine = {
        kind: 'kubernetes',
        pullsFromRegistry: true,
        startAgent: async (launch: AgentLaunch) => {
          launches.push(launch);
          await new Promise((resolve, reject) =>
            d.pull(launch.image, (err: unknown, stream: NodeJS.ReadableStream) =>
              err
                ? reject(err as Error)
                : d.modem.followProgress(stream, (e) => (e ? reject(e) : resolve(0))),
            ),
          );
          return dockerAgentChannel(d, launch, 'pod-node');
        },
      } as unknown as Engine;
      const machine = {
        id: 'k8s/pod-node',
        provider: 'kubernetes',
        instanceType: 'node',
        hostname: 'pod-node',
        engine,
        localCgroups: true,
      } satisfies Machine;
      const out: MetricSample[] = [];
      const monitor = machineMonitor(
        machine,
        { write: (s) => out.push(...s), flush: async () => {}, close: async () => {} },
        {
          intervalMs: 250,
          policy: { ...DEFAULT_METRICS_POLICY, gpu: false, host: false },
          session: `agent-test-${process.pid}`,
          logger: silentLogger,
          imageSource: d,
          // Docker treats both as the same insecure local registry; the node pulls at its own address.
          registry: { push: '127.0.0.1:5000', pull: 'localhost:5000' },
        },
      );
      await monitor.start('pod-run');
      try {
        let watch: ReturnType<AgentMonitor['watch']> | undefined;
        await dockerRunner(d).run(
          {
            name: `benchyard-agent-pod-${process.pid}`,
            image: BENCH_IMAGE,
            argv: ['stress-ng', '--cpu', '1', '--timeout', '3s'],
            labels: { 'io.benchyard.managed': 'true' },
            network: 'none',
            timeoutMs: 30_000,
          },
          {
            signal: new AbortController().signal,
            // As a pod's container: its id, no pid.
            onStarted: (c) =>
              (watch = monitor.watch({ runId: 'pod-run', cellId: 'p', repetition: 1 }, { id: c.id, pid: 0 })),
          },
        );
        expect((await watch!.finish()).samples).toBeGreaterThanOrEqual(6);
      } finally {
        await monitor.stop();
      }
      expect(launches).toHaveLength(1);
      expect(launches[0]!.image).toMatch(/^localhost:5000\/benchyard\/agent@sha256:[0-9a-f]{64}$/);
      expect(launches[0]!.args).toEqual(['--interval', '250', '--host', 'pod-node', '--no-host', '--no-gpu']);
      expect(launches[0]!.labels).toMatchObject({
        'io.benchyard.session': `agent-test-${process.pid}`,
        'io.benchyard.role': 'agent',
        'io.benchyard.run': 'pod-run',
      });
      expect(await agents()).toEqual([]);
      expect(out.some((s) => s.scope === 'container' && s.host === 'pod-node')).toBe(true);
    },
  );
});

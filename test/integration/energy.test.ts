/**
 * Energy of a real repetition (a container on this machine's Docker engine) through the
 * in-process MachineMonitor, as `benchyard run` wires it: the host collector (RAPL) and
 * the nvidia-smi stream. What this machine has decides what is asserted, each fact found
 * here independently of the code under test; the CI VM has neither powercap nor a GPU, so
 * there the repetition must carry no energy and say why. A second repetition reads RAPL
 * from a written tree (test/fixtures/rapl, from the kernel's documentation) whose package
 * counter a writer moves at 50 W while the container runs, so the whole path from counters
 * to the summary is exercised here too.
 */
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  cpSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  rmSync,
  writeSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { MetricSample, MetricsSummary } from '../../src/core/index.js';
import { HostCollector } from '../../src/metrics/host-collector.js';
import { MachineMonitor, NvidiaSmiSource } from '../../src/metrics/index.js';
import { LocalProvider } from '../../providers/local/index.js';
import { dockerRunner } from '../helpers/docker-runner.js';
import { BENCH_IMAGE, docker } from '../helpers/services.js';

const d = docker();
const roots: string[] = [];
afterAll(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

/** One 2-second stress-ng repetition watched by a monitor with a host collector on `fsRoot` and nvidia-smi. */
async function repetition(
  fsRoot: string,
  name: string,
): Promise<{ summary: MetricsSummary; ms: number; samples: MetricSample[] }> {
  const machine = await new LocalProvider().acquire(
    { name: 'h', provider: 'local', options: {} },
    new AbortController().signal,
  );
  const samples: MetricSample[] = [];
  const monitor = new MachineMonitor({
    host: 'h',
    intervalMs: 250,
    output: { write: (s) => samples.push(...s) },
    collectors: [new HostCollector({ fsRoot })],
    sources: [new NvidiaSmiSource({ intervalMs: 250 })],
  });
  await monitor.start('r');
  let watch: ReturnType<MachineMonitor['watch']> | undefined;
  let startedAt = 0;
  await dockerRunner(d).run(
    {
      name: `benchyard-energy-${name}-${process.pid}`,
      image: BENCH_IMAGE,
      argv: ['stress-ng', '--cpu', '1', '--timeout', '2s'],
      labels: { 'io.benchyard.managed': 'true' },
      network: 'none',
      timeoutMs: 30_000,
      ioAccountingDevices: machine.ioAccountingDevices ?? [],
    },
    {
      signal: new AbortController().signal,
      onStarted: (c) => {
        startedAt = Date.now();
        watch = monitor.watch({ runId: 'r', cellId: 'c', repetition: 1 }, c);
      },
    },
  );
  const summary = await watch!.finish();
  const ms = Date.now() - startedAt;
  await monitor.stop();
  return { summary, ms, samples };
}

function hasNvidiaSmi(): boolean {
  try {
    execFileSync('nvidia-smi', ['-L'], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

describe('energy of a real repetition', () => {
  it('says why there is none where this machine has no RAPL and no GPU', async () => {
    const powercap = '/sys/class/powercap';
    const rapl = existsSync(powercap) && readdirSync(powercap).some((e) => /rapl/.test(e));
    const gpu = hasNvidiaSmi();
    console.info(
      `this machine: ${powercap} ${existsSync(powercap) ? `holds [${readdirSync(powercap).join(', ')}]` : 'does not exist'}; nvidia-smi ${gpu ? 'answers' : 'absent or without a GPU'}`,
    );
    const { summary } = await repetition('/', 'here');
    if (!rapl && !gpu) {
      expect(summary.energy).toBeUndefined();
      expect(summary.energyMissing).toBe(
        existsSync(powercap)
          ? `no RAPL domain under ${powercap} (only ${readdirSync(powercap).sort().join(', ')}); no GPU`
          : `no RAPL: ${powercap} does not exist (a kernel without powercap); no GPU`,
      );
    } else {
      // A machine with RAPL or a GPU: whatever it has is either measured or said to be missing.
      expect(summary.energy !== undefined || summary.energyMissing !== undefined).toBe(true);
      if (summary.energy) expect(summary.energy.joules).toBeGreaterThan(0);
    }
  });

  it('carries a RAPL package counter moving at 50 W through a real repetition into its summary', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'by-energy-it-'));
    roots.push(root);
    cpSync(path.resolve(__dirname, '../fixtures/rapl/amd-zen'), root, { recursive: true });
    // Rewritten in place with pwrite, as the kernel's counter changes under a reader: never an empty file.
    const fd = openSync(path.join(root, 'sys/class/powercap/intel-rapl:0/energy_uj'), 'r+');
    const t0 = Date.now();
    const base = 30_000_000_000;
    const write = () => writeSync(fd, `${String(base + (Date.now() - t0) * 50_000).padStart(12, '0')}\n`, 0);
    write();
    const writer = setInterval(write, 5);
    try {
      const { summary, ms, samples } = await repetition(root, 'rapl');
      console.info(
        `50 W counter: ${summary.energy?.cpuJoules} J over a ${ms} ms watch (${(50 * ms) / 1000} J)`,
      );
      expect(summary.energy?.sources['rapl:package-0']).toBeDefined();
      expect(summary.energy!.cpuJoules).toBeCloseTo(summary.energy!.joules, 3);
      // 50 W over the watched span (measured around it, so a little longer): within 10 %.
      expect(summary.energy!.cpuJoules! / ((50 * ms) / 1000)).toBeGreaterThan(0.9);
      expect(summary.energy!.cpuJoules! / ((50 * ms) / 1000)).toBeLessThan(1.1);
      expect(summary.energy!.sources['rapl:core-0']).toBeUndefined(); // a part of the package: sampled, not added
      const watts = samples.filter((s) => s.name === 'host.power.watts' && s.device === 'rapl:package-0');
      expect(watts.length).toBeGreaterThan(2);
      const mean = watts.reduce((a, s) => a + s.value, 0) / watts.length;
      expect(mean).toBeGreaterThan(40);
      expect(mean).toBeLessThan(60);
    } finally {
      clearInterval(writer);
      closeSync(fd);
    }
  });
});

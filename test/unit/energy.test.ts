/**
 * Energy per repetition: GPU power samples integrated against the exact integral of a
 * known curve at 1 Hz and 10 Hz, exactness where power changes linearly, holes left as
 * holes; the summary's sums and reasons; and a whole repetition through MachineMonitor on
 * a manual clock with a fake GPU stream and a RAPL tree (test/fixtures/rapl, written from
 * the kernel's documentation) whose counters move and wrap.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  energySummary,
  integratePower,
  type EnergyReading,
  type PowerPoint,
} from '../../src/metrics/energy.js';
import { HostCollector } from '../../src/metrics/host-collector.js';
import { MachineMonitor } from '../../src/metrics/monitor.js';
import type { PushSource, Reading } from '../../src/metrics/reading.js';
import { ManualClock } from '../helpers/manual-clock.js';

/** The test curve: P(t) = 200 + 100·sin(2πt/7) W, t in seconds, and its exact integral. */
const power = (t: number) => 200 + 100 * Math.sin((2 * Math.PI * t) / 7);
const exactJoules = (a: number, b: number) =>
  200 * (b - a) +
  ((100 * 7) / (2 * Math.PI)) * (Math.cos((2 * Math.PI * a) / 7) - Math.cos((2 * Math.PI * b) / 7));

/**
 * Samples of the curve every 1/hz s as a live stream gives them when a repetition
 * [start, start + 30 s] ends: one before the start, none after the end.
 */
function stream(hz: number, start: number, phase: number): PowerPoint[] {
  const points: PowerPoint[] = [];
  for (let i = -1; ; i++) {
    const t = start + phase + i / hz;
    if (t > start + 30) return points;
    points.push({ t: t * 1000, watts: power(t) });
  }
}

/** The largest relative error over repetitions starting anywhere in the curve's period, samples at any phase. */
function worstError(hz: number): number {
  let worst = 0;
  for (let s = 0; s < 7; s += 0.2)
    for (let k = 0; k < 20; k++) {
      const r = integratePower(stream(hz, s, k / 20 / hz), s * 1000, (s + 30) * 1000);
      if (!('joules' in r)) throw new Error(r.missing);
      worst = Math.max(worst, Math.abs(r.joules / exactJoules(s, s + 30) - 1));
    }
  return worst;
}

describe('GPU energy from power samples', () => {
  // Measured: 0.64 % at 1 Hz and 0.006 % at 10 Hz at worst (mean 0.16 % and 0.0015 %); most
  // of it is the last sample held to the end. Bounds with margin:
  it.each([
    [1, 0.01],
    [10, 0.0002],
  ])('integrates P(t) = 200 + 100·sin(2πt/7) W over 30 s sampled at %i Hz within its bound', (hz, bound) => {
    const worst = worstError(hz);
    console.info(`GPU energy at ${hz} Hz: worst relative error ${(worst * 100).toFixed(4)} %`);
    expect(worst).toBeLessThan(bound);
    expect(worst).toBeGreaterThan(0); // the curve is not linear: a zero would mean the test measures nothing
  });

  it('is exact where power changes linearly, wherever the samples fall', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 50, max: 500, noNaN: true }),
        fc.double({ min: -5, max: 5, noNaN: true }),
        fc.uniqueArray(fc.integer({ min: 1, max: 9_999 }), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 0, max: 4_000 }),
        fc.integer({ min: 1, max: 6_000 }),
        (w0, slope, inside, start, length) => {
          const end = start + length;
          const watts = (ms: number) => w0 + (slope * ms) / 1000;
          const times = [-1, ...inside, 10_001].sort((a, b) => a - b);
          const r = integratePower(
            times.map((t) => ({ t, watts: watts(t) })),
            start,
            end,
          );
          const exact = (w0 * length) / 1000 + (slope * (end * end - start * start)) / 2 / 1e6;
          expect('joules' in r && r.joules).toBeCloseTo(exact, 6);
        },
      ),
    );
  });

  it('holds the last sample to the end, and the first back to the start when nothing came before', () => {
    expect(integratePower([{ t: 500, watts: 100 }], 0, 2_000)).toEqual({ joules: 200 });
    expect(integratePower([{ t: -300, watts: 80 }], 0, 1_000)).toEqual({ joules: 80 });
  });

  it('leaves a hole a hole: samples too far apart or none give no energy, and say so', () => {
    const points = [0, 1000, 2000, 9000, 10_000].map((t) => ({ t, watts: 100 }));
    expect(integratePower(points, 0, 10_000, 3_000)).toEqual({
      missing: 'power samples 7.0 s apart during the repetition',
    });
    expect(integratePower(points, 0, 10_000)).toEqual({ joules: 1000 });
    expect(integratePower([], 0, 1_000)).toEqual({ missing: 'no power.draw samples during the repetition' });
    expect(integratePower([{ t: 200, watts: 100 }], 0, 10_000, 3_000)).toEqual({
      missing: 'power samples 9.8 s apart during the repetition',
    });
  });
});

describe('energySummary', () => {
  const reading = (sources: Record<string, ['cpu' | 'dram', number]>, missing?: string): EnergyReading => ({
    at: 0,
    sources: new Map(Object.entries(sources).map(([k, [kind, joules]]) => [k, { kind, joules }])),
    ...(missing ? { missing } : {}),
  });

  it('sums GPUs, packages and DRAM, each source once', () => {
    const s = energySummary({
      counters: {
        start: [reading({ 'rapl:package-0': ['cpu', 10], 'rapl:dram-0': ['dram', 1] })],
        end: [reading({ 'rapl:package-0': ['cpu', 130.5], 'rapl:dram-0': ['dram', 13] })],
      },
      gpus: new Map([
        ['GPU-a', { joules: 3000.25 }],
        ['GPU-b', { joules: 2000 }],
      ]),
      gpuSource: true,
    });
    expect(s).toEqual({
      energy: {
        joules: 5132.75,
        gpuJoules: 5000.25,
        cpuJoules: 120.5,
        dramJoules: 12,
        sources: { 'rapl:package-0': 120.5, 'rapl:dram-0': 12, 'gpu:GPU-a': 3000.25, 'gpu:GPU-b': 2000 },
      },
    });
  });

  it('keeps what was measured and says what was not', () => {
    const denied = 'RAPL permission denied: /sys/class/powercap/intel-rapl:0/energy_uj';
    expect(
      energySummary({
        counters: { start: [reading({}, denied)], end: [reading({}, denied)] },
        gpus: new Map([
          ['GPU-a', { joules: 50 }],
          ['GPU-b', { missing: 'no power.draw samples during the repetition' }],
        ]),
        gpuSource: true,
      }),
    ).toEqual({
      energy: { joules: 50, gpuJoules: 50, sources: { 'gpu:GPU-a': 50 } },
      energyMissing: `${denied}; GPU GPU-b: no power.draw samples during the repetition`,
    });
  });

  it('has no energy where nothing was readable, and says what was seen', () => {
    const none = 'no RAPL: /sys/class/powercap does not exist (a kernel without powercap)';
    expect(
      energySummary({
        counters: { start: [reading({}, none)], end: [reading({}, none)] },
        gpus: new Map(),
        gpuSource: true,
      }),
    ).toEqual({ energyMissing: `${none}; no GPU` });
    expect(energySummary({ gpus: new Map(), gpuSource: true })).toEqual({
      energyMissing: 'RAPL not read (host metrics off); no GPU',
    });
    expect(energySummary({ gpus: new Map(), gpuSource: false })).toEqual({});
  });
});

/** A GPU stream the test drives: `emit` hands readings to the monitor as nvidia-smi's lines would. */
class FakeGpuStream implements PushSource {
  readonly name = 'gpu:fake';
  private sink: ((r: readonly Reading[]) => void) | undefined;
  start(emit: (r: readonly Reading[]) => void): void {
    this.sink = emit;
  }
  stop(): Promise<void> {
    this.sink = undefined;
    return Promise.resolve();
  }
  power(device: string, at: number, watts: number): void {
    this.sink?.([
      { scope: 'gpu', name: 'gpu.power.draw.watts', unit: 'W', value: watts, timestamp: at, device },
    ]);
  }
}

/** The host collector, with each `readEnergy` the monitor makes kept for the test to wait on. */
class ObservedHost extends HostCollector {
  readonly energyReads: Promise<EnergyReading>[] = [];
  override readEnergy(at: number): Promise<EnergyReading> {
    const read = super.readEnergy(at);
    this.energyReads.push(read);
    return read;
  }
}

describe('MachineMonitor energy', () => {
  const roots: string[] = [];
  afterEach(() => {
    for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
  });
  const tree = (fixture?: string) => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'by-energy-'));
    roots.push(root);
    if (fixture) cpSync(path.resolve(__dirname, '../fixtures/rapl', fixture), root, { recursive: true });
    return {
      root,
      set: (zone: string, uj: number) =>
        writeFileSync(path.join(root, 'sys/class/powercap', zone, 'energy_uj'), `${uj}\n`),
    };
  };

  async function repetition(hz: number, opts: { fixture?: string; gpuUntilS?: number } = {}) {
    const clock = new ManualClock(1_800_000_000_000);
    const t0 = clock.now();
    const fs = tree(opts.fixture);
    const gpu = new FakeGpuStream();
    const host = new ObservedHost({ fsRoot: fs.root });
    const monitor = new MachineMonitor({
      host: 'h',
      intervalMs: 1000 / hz,
      output: { write: () => undefined },
      collectors: [host],
      sources: [gpu],
      containers: false,
      clock,
    });
    await monitor.start('r');
    const at = (s: number) => t0 + s * 1000;
    if (opts.gpuUntilS !== undefined) gpu.power('GPU-0', at(-0.7), power(-0.7));
    const watch = monitor.watch({ runId: 'r', cellId: 'c', repetition: 1 }, { id: 'x', pid: 1 });
    for (let i = 0; opts.gpuUntilS !== undefined; i++) {
      const s = 0.3 + i / hz;
      if (s > Math.min(30, opts.gpuUntilS)) break;
      gpu.power('GPU-0', at(s), power(s));
    }
    // The counters move only once the start was read (within milliseconds on a machine).
    await vi.waitFor(() => expect(host.energyReads).toHaveLength(1));
    await host.energyReads[0];
    if (opts.fixture) {
      fs.set('intel-rapl:0', 500_000_000); // wrapped: 262143328850 − 117368420531 + 500 J
      fs.set('intel-rapl:0:0', 19563215672 + 300_000_000);
      fs.set('intel-rapl:1', 98227163904 + 2_000_000_000);
      fs.set('intel-rapl:1:0', 20004411238 + 250_000_000);
    }
    clock.advance(30_000);
    const summary = await watch.finish();
    await monitor.stop();
    return summary;
  }

  it.each([
    [1, 0.01],
    [10, 0.0002],
  ])(
    'gives a repetition its GPU energy at %i Hz and its RAPL energy across a wrap-around',
    async (hz, bound) => {
      const { energy, energyMissing } = await repetition(hz, { fixture: 'xeon-2s-dram', gpuUntilS: 30 });
      const cpu = (262143328850 - 117368420531 + 500_000_000 + 2_000_000_000) / 1e6;
      expect(energyMissing).toBeUndefined();
      expect(energy!.cpuJoules).toBeCloseTo(cpu, 3);
      expect(energy!.dramJoules).toBe(550);
      expect(Math.abs(energy!.gpuJoules! / exactJoules(0, 30) - 1)).toBeLessThan(bound);
      expect(Object.keys(energy!.sources).sort()).toEqual([
        'gpu:GPU-0',
        'rapl:dram-0',
        'rapl:dram-1',
        'rapl:package-0',
        'rapl:package-1',
      ]);
      expect(energy!.joules).toBeCloseTo(energy!.gpuJoules! + cpu + 550, 2);
    },
  );

  it('gives no GPU energy for a stream that stopped mid-repetition, and keeps RAPL', async () => {
    const { energy, energyMissing } = await repetition(1, { fixture: 'xeon-2s-dram', gpuUntilS: 10 });
    expect(energy!.gpuJoules).toBeUndefined();
    expect(energy!.cpuJoules).toBeGreaterThan(0);
    expect(energyMissing).toBe('GPU GPU-0: power samples 20.7 s apart during the repetition');
  });

  it('does not let a sample from before a control repetition stand for the time after it', async () => {
    const clock = new ManualClock();
    const gpu = new FakeGpuStream();
    const monitor = new MachineMonitor({
      host: 'h',
      intervalMs: 1000,
      output: { write: () => undefined },
      sources: [gpu],
      containers: false,
      clock,
    });
    await monitor.start('r');
    gpu.power('GPU-0', clock.now() - 60_000, 300);
    const resume = await monitor.quiesce();
    resume!();
    const t0 = clock.now();
    const watch = monitor.watch({ runId: 'r', cellId: 'c', repetition: 1 }, { id: 'x', pid: 1 });
    for (let s = 0.5; s <= 10; s++) gpu.power('GPU-0', t0 + s * 1000, 100);
    clock.advance(10_000);
    const { energy, energyMissing } = await watch.finish();
    await monitor.stop();
    expect(energyMissing).toBeUndefined();
    expect(energy).toEqual({ joules: 1000, gpuJoules: 1000, sources: { 'gpu:GPU-0': 1000 } });
  });

  it('has no energy on a machine without RAPL or GPUs, and says what it saw', async () => {
    const summary = await repetition(1);
    expect(summary.energy).toBeUndefined();
    expect(summary.energyMissing).toMatch(
      /^no RAPL: .*\/sys\/class\/powercap does not exist \(a kernel without powercap\); no GPU$/,
    );
  });
});

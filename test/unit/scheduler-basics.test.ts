/**
 * The scheduler against simulated machines in simulated time (test/helpers/sim): what a
 * run does when everything works.
 */
import { describe, expect, it } from 'vitest';
import { scoring } from '../helpers/sim/fake-engine.js';
import { FakeProvider } from '../helpers/sim/fake-provider.js';
import { fakeMatrix, simulation } from '../helpers/sim/simulate.js';

const T0 = Date.UTC(2026, 0, 1);
const lab = (hosts = 1) =>
  `  - { name: lab, provider: ssh, hosts: [${Array.from({ length: hosts }, (_, i) => `h${i + 1}`).join(', ')}] }`;

describe('scheduler: a run where everything works', () => {
  it('runs every repetition of every cell once, records each as it ends, and passes', async () => {
    const sim = simulation(fakeMatrix({ cells: 3, repetitions: 2, targets: lab() }));
    const out = await sim.run();
    expect(out.run.status).toBe('passed');
    expect(out.results).toHaveLength(6);
    expect(sim.store.results.map((r) => `${r.cellId}#${r.repetition}`)).toEqual(
      sim.plan.cells.flatMap((c) => [`${c.id}#1`, `${c.id}#2`]),
    );
    expect(out.results.every((r) => r.status === 'passed' && r.scores[0]?.value === 100)).toBe(true);
    expect(sim.store.finished[0]).toMatchObject({ status: 'passed', passed: 6, failed: 0 });
  });

  it('takes as long as its repetitions back to back on one machine (no time of its own)', async () => {
    const sim = simulation(fakeMatrix({ cells: 4, repetitions: 3, targets: lab() }), {
      behave: scoring(() => 1, 2_000),
    });
    await sim.run();
    expect(sim.clock.now() - T0).toBe(4 * 3 * 2_000);
  });

  it('records the run with its cells before the first repetition and its end after the last', async () => {
    const sim = simulation(fakeMatrix({ cells: 2, targets: lab() }));
    await sim.run({ tags: ['nightly'] });
    expect(sim.store.runs).toHaveLength(1);
    expect(sim.store.runs[0]).toMatchObject({ id: 'r-sim', status: 'running', cells: 2, tags: ['nightly'] });
    expect(sim.store.cells.map((c) => c.id)).toEqual(sim.plan.cells.map((c) => c.id));
    expect(sim.store.finished[0]!.finishedAt! >= sim.store.results.at(-1)!.finishedAt).toBe(true);
    expect(sim.store.flushes).toBeGreaterThan(0);
  });

  it('warmups come first and are marked; they count as repetitions but not as measured', async () => {
    const sim = simulation(fakeMatrix({ cells: 1, repetitions: 2, extra: 'warmup: 1', targets: lab() }));
    const out = await sim.run();
    expect(out.results.map((r) => [r.repetition, r.warmup])).toEqual([
      [1, true],
      [2, false],
      [3, false],
    ]);
  });

  it('control repetitions run with the machine quiesced and are marked control', async () => {
    const sim = simulation(fakeMatrix({ cells: 1, repetitions: 2, extra: 'control: 1', targets: lab() }));
    const out = await sim.run();
    expect(out.results.filter((r) => r.control).map((r) => r.repetition)).toEqual([1]);
    const monitor = [...sim.monitors.values()][0]!;
    expect(monitor.quiesced).toBe(1);
    // The control container is not watched; the measured ones are.
    expect(monitor.watches).toBe(2);
  });

  it('results carry the machine, the provider, the instance type and the image digest', async () => {
    const sim = simulation(fakeMatrix({ cells: 1, targets: lab() }));
    const [r] = (await sim.run()).results;
    expect(r).toMatchObject({
      provider: 'ssh',
      machineId: 'fake:lab-1',
      instanceType: 'fake.large',
      target: 'lab',
      imageDigest: 'sha256:fake/bench:1',
    });
  });

  it('a price set on the target overrides the provider and is on every result', async () => {
    const sim = simulation(
      fakeMatrix({ cells: 1, targets: '  - { name: lab, provider: ssh, hosts: [h1], hourlyPrice: 2.5 }' }),
    );
    const [r] = (await sim.run()).results;
    expect(r?.hourlyPriceUsd).toBe(2.5);
  });

  it('runs `concurrency` cells at once per machine, never more', async () => {
    const sim = simulation(fakeMatrix({ cells: 6, concurrency: 3, targets: lab() }));
    await sim.run();
    const engine = sim.provider.engine('fake:lab-1');
    expect(engine.peakRunning).toBe(3);
    expect(sim.clock.now() - T0).toBe(2 * 1000);
  });

  it('machines of one target share its cells: two machines halve the time', async () => {
    const sim = simulation(fakeMatrix({ cells: 8, targets: lab() }), {
      capacity: () => ({ min: 2, max: 2 }),
    });
    await sim.run();
    expect(sim.provider.acquired).toHaveLength(2);
    const per = [...sim.provider.engines.values()].map((e) => e.created);
    expect(per).toEqual([4, 4]);
    expect(sim.clock.now() - T0).toBe(4 * 1000);
  });

  it('machines that share one engine (shareEngine) share its slots: `concurrency` in all', async () => {
    const sim = simulation(fakeMatrix({ cells: 4, concurrency: 2, targets: lab() }), {
      capacity: () => ({ min: 2, max: 2 }),
      engineId: () => 'the-one-engine',
    });
    const out = await sim.run();
    expect(out.results).toHaveLength(4);
    // Four 1 s containers, two at a time on the one engine (two machines with their own slots: 1 s).
    expect(sim.clock.now() - T0).toBe(2 * 1000);
  });

  it('never acquires more machines than the target has cells', async () => {
    const sim = simulation(fakeMatrix({ cells: 2, targets: lab() }), {
      capacity: () => ({ min: 5, max: 5 }),
    });
    await sim.run();
    expect(sim.provider.acquired).toHaveLength(2);
  });

  it('targets run side by side, each on its own machines and provider', async () => {
    const sim = simulation(
      fakeMatrix({
        cells: 2,
        targets: `${lab()}\n  - { name: cloud, provider: aws, instanceType: g4dn.xlarge, regions: [us-east-1], ami: ami-0123456789abcdef0 }`,
      }),
      { extraProviders: (clock) => [new FakeProvider({ name: 'aws', clock, behave: scoring(() => 7) })] },
    );
    const out = await sim.run();
    expect(out.results.filter((r) => r.target === 'cloud').map((r) => r.scores[0]?.value)).toEqual([7, 7]);
    expect(out.results.filter((r) => r.target === 'lab')).toHaveLength(2);
    // Both targets at once: 2 s, not 4.
    expect(sim.clock.now() - T0).toBe(2 * 1000);
  });

  it('each machine is released once, as soon as its target has nothing left', async () => {
    const sim = simulation(
      fakeMatrix({
        cells: 1,
        targets: `${lab()}\n  - { name: slow, provider: ssh, hosts: [s1] }`,
      }),
      {
        behave: (call) => ({
          durationMs: call.engine.startsWith('slow') ? 10_000 : 1_000,
          stdout: 'score: 1\n',
        }),
      },
    );
    await sim.run();
    expect(sim.provider.releasedOnce()).toBe(true);
    // lab's one 1 s cell is done at 1 s: its machine goes back then, not after slow's 10 s.
    expect(sim.provider.releasedAt.get('fake:lab-1')! - T0).toBe(1000);
    expect(sim.provider.releasedAt.get('fake:slow-2')! - T0).toBe(10_000);
  });

  it('starts every machine monitor once and stops it once, before the machine goes back', async () => {
    const sim = simulation(fakeMatrix({ cells: 4, targets: lab() }), {
      capacity: () => ({ min: 2, max: 2 }),
    });
    await sim.run();
    for (const m of sim.monitors.values()) {
      expect(m.starts).toBe(1);
      expect(m.stops).toBe(1);
    }
  });

  it('removes every container it created', async () => {
    const sim = simulation(fakeMatrix({ cells: 5, repetitions: 2, concurrency: 2, targets: lab() }));
    await sim.run();
    const engine = sim.provider.engine('fake:lab-1');
    expect(engine.created).toBe(10);
    expect(engine.removed).toBe(10);
    expect(engine.containers.size).toBe(0);
  });

  it('tells what happens in order: run-started, machine-ready, then each repetition started and finished', async () => {
    const sim = simulation(fakeMatrix({ cells: 1, repetitions: 2, targets: lab() }));
    await sim.run();
    expect(sim.events.map((e) => e.type)).toEqual([
      'machine-ready',
      'run-started',
      'repetition-started',
      'repetition-finished',
      'repetition-started',
      'repetition-finished',
    ]);
  });
});

/**
 * The scheduler against simulated machines in simulated time: machines that join and
 * leave while the run goes (pools, elastic targets, idle release), adaptive repetitions
 * and shards.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FakeRun } from '../helpers/sim/fake-engine.js';
import { fakeMatrix, planOf, simulation } from '../helpers/sim/simulate.js';
import { shardPlan } from '../../src/plan/index.js';

const T0 = Date.UTC(2026, 0, 1);
const lab = `  - { name: lab, provider: ssh, hosts: [h1] }`;
const long: FakeRun = { durationMs: 10_000, stdout: 'score: 5\n' };

describe('scheduler: machines leaving a pool', () => {
  it("'drain': the machine finishes its cell, takes no other, and goes back; the others take the rest", async () => {
    const sim = simulation(fakeMatrix({ cells: 4, repetitions: 2, targets: lab }), {
      capacity: () => ({ min: 2, max: 2 }),
      behave: () => long,
    });
    const running = sim.start();
    await sim.clock.advance(5_000);
    sim.provider.withdraw('fake:lab-1', 'drain');
    const out = await sim.clock.drive(running);
    expect(out.results).toHaveLength(8);
    expect(out.results.every((r) => r.status === 'passed')).toBe(true);
    // lab-1 finished the cell it had (2 repetitions), nothing more.
    expect(sim.provider.engine('fake:lab-1').calls).toHaveLength(2);
    expect(sim.of('machine-withdrawn')).toMatchObject([{ how: 'drain' }]);
    expect(sim.provider.releases.get('fake:lab-1')).toBe(1);
  });

  it("'now': its running repetition stops and runs again on another machine", async () => {
    const sim = simulation(fakeMatrix({ cells: 2, targets: lab }), {
      capacity: () => ({ min: 2, max: 2 }),
      behave: () => long,
    });
    const running = sim.start();
    await sim.clock.advance(4_000);
    sim.provider.withdraw('fake:lab-1', 'now');
    const out = await sim.clock.drive(running);
    expect(out.run.status).toBe('passed');
    // Neither result is from the withdrawn machine (the pool's room let another one join).
    expect(out.results.map((r) => r.machineId)).not.toContain('fake:lab-1');
    expect(out.results).toHaveLength(2);
    expect(sim.of('repetition-retried')[0]?.reason).toMatch(/withdrawn from its pool/);
    // The stopped attempt is stored as what it was, and not counted.
    expect(sim.store.results.filter((r) => r.machineId === 'fake:lab-1')).toHaveLength(1);
    expect(sim.provider.engine('fake:lab-1').containers.size).toBe(0);
  });

  it("'drain' then 'now': the drain becomes a stop", async () => {
    const sim = simulation(fakeMatrix({ cells: 2, targets: lab }), {
      capacity: () => ({ min: 2, max: 2 }),
      behave: () => long,
    });
    const running = sim.start();
    await sim.clock.advance(2_000);
    sim.provider.withdraw('fake:lab-1', 'drain');
    await sim.clock.advance(2_000);
    sim.provider.withdraw('fake:lab-1', 'now');
    await sim.clock.drive(running);
    expect(sim.of('machine-withdrawn').map((e) => e.how)).toEqual(['drain', 'now']);
    expect(sim.of('repetition-retried')).toHaveLength(1);
  });

  it('the last machine withdrawn with cells left: they wait for a machine to join, then run', async () => {
    const sim = simulation(fakeMatrix({ cells: 3, targets: lab }), { behave: () => long });
    const running = sim.start();
    await sim.clock.advance(1_000);
    sim.provider.withdraw('fake:lab-1', 'drain');
    const out = await sim.clock.drive(running);
    expect(out.results.map((r) => r.machineId)).toEqual(['fake:lab-1', 'fake:lab-2', 'fake:lab-2']);
    expect(sim.of('machine-joined').map((e) => e.machine.id)).toEqual(['fake:lab-2']);
  });
});

describe('scheduler: elastic targets', () => {
  it('grows to its maximum while cells wait, never past it', async () => {
    const sim = simulation(fakeMatrix({ cells: 12, targets: lab }), {
      capacity: () => ({ min: 1, max: 3 }),
      behave: () => long,
    });
    await sim.run();
    expect(sim.provider.acquired).toHaveLength(3);
    expect(sim.of('machine-joined')).toHaveLength(2);
  });

  it('adds only as many machines as the waiting cells need (each takes `concurrency`)', async () => {
    const sim = simulation(fakeMatrix({ cells: 5, concurrency: 2, targets: lab }), {
      capacity: () => ({ min: 1, max: 10 }),
      behave: () => long,
    });
    await sim.run();
    // 1 machine takes 2 cells at once; 3 wait: 2 more machines.
    expect(sim.provider.acquired).toHaveLength(3);
  });

  it('a machine whose provider has none to give is asked again after 5 s, and the warning is said once', async () => {
    const warnings: string[] = [];
    const sim = simulation(fakeMatrix({ cells: 6, targets: lab }), {
      capacity: () => ({ min: 1, max: 2 }),
      behave: () => long,
      logger: { debug() {}, info() {}, error() {}, warn: (m) => warnings.push(m) },
    });
    const running = sim.start();
    await sim.clock.settle();
    // The start has its machine; the joins fail three times.
    for (let i = 0; i < 3; i++) sim.provider.failures.push(new Error('InsufficientInstanceCapacity'));
    const out = await sim.clock.drive(running);
    expect(out.results).toHaveLength(6);
    expect(sim.of('machine-joined')).toHaveLength(1);
    // Three failed tries, 5 s apart, then the fourth got a machine.
    expect(sim.provider.acquired).toHaveLength(2);
    expect(warnings.filter((w) => /could not add a machine/.test(w))).toHaveLength(1);
  });

  it("machines above the minimum with nothing to run for the target's idle time go back early", async () => {
    const sim = simulation(
      fakeMatrix({ cells: 2, targets: `  - { name: lab, provider: ssh, hosts: [h1], idleRelease: 30s }` }),
      {
        capacity: () => ({ min: 1, max: 2 }),
        behave: (c) => ({ ...long, durationMs: c.spec.argv[1] === '1' ? 600_000 : 10_000 }),
      },
    );
    await sim.run();
    expect(sim.provider.acquired).toHaveLength(2);
    // lab-2 ran the short cell (joined within about a second) and left when its queue was empty.
    expect(sim.provider.releasedAt.get('fake:lab-2')! - T0).toBeLessThan(60_000);
    expect(sim.provider.releasedAt.get('fake:lab-1')! - T0).toBe(600_000);
  });

  it('never releases for idleness below the minimum', async () => {
    const sim = simulation(
      fakeMatrix({ cells: 1, targets: `  - { name: lab, provider: ssh, hosts: [h1], idleRelease: 1s }` }),
      { capacity: () => ({ min: 1, max: 1 }), behave: () => long },
    );
    await sim.run();
    expect(sim.of('machine-idle')).toHaveLength(0);
  });
});

describe('scheduler: adaptive repetitions', () => {
  it('extends a noisy cell until its maximum', async () => {
    const sim = simulation(
      fakeMatrix({ cells: 1, repetitions: 3, targets: lab, entry: '    adaptive: { cov: 1%, max: 6 }' }),
      { behave: (c) => ({ durationMs: 1000, stdout: `score: ${c.repetition % 2 ? 100 : 150}\n` }) },
    );
    const out = await sim.run();
    expect(out.results).toHaveLength(6);
    expect(sim.of('repetitions-extended').map((e) => e.measured)).toEqual([4, 5, 6]);
    expect(out.run.repetitions).toBe(6);
  });

  it('stops at the planned repetitions when the scores are steady', async () => {
    const sim = simulation(
      fakeMatrix({ cells: 1, repetitions: 3, targets: lab, entry: '    adaptive: { cov: 1%, max: 6 }' }),
    );
    const out = await sim.run();
    expect(out.results).toHaveLength(3);
    expect(sim.of('repetitions-extended')).toHaveLength(0);
  });

  it('stops extending at the time budget', async () => {
    const sim = simulation(
      fakeMatrix({
        cells: 1,
        repetitions: 3,
        targets: lab,
        entry: '    adaptive: { cov: 1%, max: 50, budget: 10s }',
      }),
      { behave: (c) => ({ durationMs: 2000, stdout: `score: ${c.repetition % 2 ? 100 : 150}\n` }) },
    );
    const out = await sim.run();
    // 2 s each: past 10 s after the 5th, no more.
    expect(out.results.length).toBe(5);
  });

  it('a failed measured repetition is not noise: no extension', async () => {
    const sim = simulation(
      fakeMatrix({ cells: 1, repetitions: 3, targets: lab, entry: '    adaptive: { cov: 1%, max: 6 }' }),
      {
        behave: (c) =>
          c.repetition === 2 ? { durationMs: 10, exitCode: 1 } : { durationMs: 10, stdout: 'score: 1\n' },
      },
    );
    const out = await sim.run();
    expect(out.results).toHaveLength(3);
  });
});

describe('scheduler: shards', () => {
  it("runs only its shard's cells and records the run as that shard", async () => {
    const yaml = fakeMatrix({ cells: 6, targets: lab });
    const whole = planOf(yaml);
    const part = shardPlan(whole, { index: 2, total: 3 });
    const sim = simulation(yaml);
    const out = await sim.runPlan(part);
    expect(out.results.map((r) => r.cellId).sort()).toEqual(part.cells.map((c) => c.id).sort());
    expect(out.results.length).toBeLessThan(6);
    expect(sim.store.runs[0]?.shard).toEqual({ index: 2, total: 3 });
  });
});

describe('scheduler: invariants over random runs (property)', () => {
  it('every repetition recorded once, every machine released once, every container removed', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          cells: fc.integer({ min: 1, max: 6 }),
          repetitions: fc.integer({ min: 1, max: 3 }),
          concurrency: fc.integer({ min: 1, max: 3 }),
          machines: fc.integer({ min: 1, max: 3 }),
          dies: fc.array(fc.integer({ min: 1, max: 20 }), { maxLength: 3 }),
          exits: fc.array(fc.integer({ min: 1, max: 20 }), { maxLength: 3 }),
          withdraw: fc.option(fc.constantFrom('drain' as const, 'now' as const)),
        }),
        async (s) => {
          const sim = simulation(
            fakeMatrix({
              cells: s.cells,
              repetitions: s.repetitions,
              concurrency: s.concurrency,
              targets: lab,
            }),
            {
              capacity: () => ({ min: s.machines, max: s.machines + 1 }),
              behave: (c) => ({
                durationMs: 1000 + c.nth * 10,
                stdout: 'score: 1\n',
                ...(s.exits.includes(c.nth + 1) ? { exitCode: 2 } : {}),
                ...(s.dies.includes(c.nth + 1) && c.engine.endsWith('-1') ? { dieAfterMs: 100 } : {}),
              }),
            },
          );
          const running = sim.start();
          if (s.withdraw) {
            await sim.clock.advance(500);
            sim.provider.withdraw('fake:lab-1', s.withdraw);
          }
          await sim.clock.drive(running).catch(() => undefined);
          const final = sim.store.finished[0]!;
          const counted = new Map<string, number>();
          for (const e of sim.of('repetition-finished')) {
            const key = `${e.cell.id}#${e.result.repetition}`;
            counted.set(key, (counted.get(key) ?? 0) + 1);
          }
          expect([...counted.values()].every((n) => n === 1)).toBe(true);
          if (final.status !== 'error') expect(counted.size).toBe(s.cells * s.repetitions);
          expect(final.passed + final.failed).toBe(counted.size);
          expect(sim.provider.releasedOnce()).toBe(true);
          expect(sim.provider.releases.size).toBe(sim.provider.acquired.length);
          for (const e of sim.provider.engines.values()) if (e.alive) expect(e.containers.size).toBe(0);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('scheduler: the order of repetitions', () => {
  const calls = (sim: ReturnType<typeof simulation>) =>
    sim.provider.engine('fake:lab-1').calls.map((c) => `${c.spec.argv[1]}#${c.repetition}`);

  it('interleaved: round after round, one repetition of every cell per round, each round shuffled', async () => {
    const sim = simulation(
      fakeMatrix({ cells: 3, repetitions: 4, targets: lab, extra: 'order: interleaved' }),
    );
    const out = await sim.run();
    expect(out.results).toHaveLength(12);
    const seq = calls(sim);
    for (let r = 0; r < 4; r++) {
      const round = seq.slice(r * 3, r * 3 + 3);
      expect(round.map((s) => s.split('#')[1])).toEqual([`${r + 1}`, `${r + 1}`, `${r + 1}`]);
      expect(new Set(round.map((s) => s.split('#')[0]))).toEqual(new Set(['1', '2', '3']));
    }
    expect(new Set([0, 1, 2, 3].map((r) => seq.slice(r * 3, r * 3 + 3).join()))).not.toHaveProperty(
      'size',
      1,
    );
  });

  it('random: every repetition once, each cell in sequence, the same order for the same run', async () => {
    const yaml = fakeMatrix({ cells: 3, repetitions: 4, targets: lab, extra: 'order: random' });
    const a = simulation(yaml);
    await a.run();
    const b = simulation(yaml);
    await b.run();
    expect(calls(a)).toEqual(calls(b));
    for (const n of ['1', '2', '3'])
      expect(calls(a).filter((s) => s.startsWith(`${n}#`))).toEqual([`${n}#1`, `${n}#2`, `${n}#3`, `${n}#4`]);
    expect(calls(a)).not.toEqual([...calls(a)].sort());
  });

  it('interleaved warmups come in the first rounds, before any measured repetition', async () => {
    const sim = simulation(
      fakeMatrix({ cells: 2, repetitions: 2, targets: lab, extra: 'order: interleaved\nwarmup: 1' }),
    );
    const out = await sim.run();
    expect(out.results.slice(0, 2).every((r) => r.warmup)).toBe(true);
    expect(out.results.slice(2).every((r) => !r.warmup)).toBe(true);
  });

  it('interleaved and adaptive: an extension joins the end of the order', async () => {
    const sim = simulation(
      fakeMatrix({
        cells: 2,
        repetitions: 3,
        targets: lab,
        extra: 'order: interleaved',
        entry: '    adaptive: { cov: 1%, max: 5 }',
      }),
      {
        behave: (c) => ({
          durationMs: 1000,
          stdout: `score: ${c.spec.argv[1] === '1' ? 100 + (c.repetition % 2) * 50 : 100}\n`,
        }),
      },
    );
    const out = await sim.run();
    expect(out.results.filter((r) => r.params.n === 1)).toHaveLength(5);
    expect(out.results.filter((r) => r.params.n === 2)).toHaveLength(3);
    expect(calls(sim).slice(-2)).toEqual(['1#4', '1#5']);
  });

  it('interleaved: a repetition whose machine died runs again on another machine', async () => {
    const sim = simulation(
      fakeMatrix({ cells: 2, repetitions: 2, targets: lab, extra: 'order: interleaved' }),
      {
        capacity: () => ({ min: 1, max: 2 }),
        behave: (c) =>
          c.engine === 'lab-1' && c.nth === 0 ? { ...long, dieAfterMs: 10 } : { ...long, durationMs: 1000 },
      },
    );
    const out = await sim.run();
    expect(out.run.status).toBe('passed');
    expect(out.results).toHaveLength(4);
    expect(sim.of('repetition-retried')).toHaveLength(1);
  });
});

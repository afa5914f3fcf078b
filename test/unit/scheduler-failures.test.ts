/**
 * The scheduler against simulated machines in simulated time: failures of benchmarks, of
 * machines and of the run, and what is retried where.
 */
import { describe, expect, it } from 'vitest';
import { CancelledError, InfrastructureError, MachineBusyError } from '../../src/core/index.js';
import type { FakeRun } from '../helpers/sim/fake-engine.js';
import { fakeMatrix, simulation } from '../helpers/sim/simulate.js';

const T0 = Date.UTC(2026, 0, 1);
const lab = `  - { name: lab, provider: ssh, hosts: [h1] }`;
const ok: FakeRun = { durationMs: 1000, stdout: 'score: 5\n' };
const twoMachines = { capacity: () => ({ min: 2, max: 2 }) };

describe('scheduler: a benchmark that fails', () => {
  it('a non-zero exit is BENCHMARK_FAILED with the output tail, recorded once, never retried', async () => {
    const sim = simulation(fakeMatrix({ cells: 1, repetitions: 2, targets: lab }), {
      behave: () => ({ durationMs: 500, exitCode: 3, stderr: 'segfault in kernel 7\n' }),
    });
    const out = await sim.run();
    expect(out.results.map((r) => r.failureClass)).toEqual(['BENCHMARK_FAILED', 'BENCHMARK_FAILED']);
    expect(out.results[0]!.failureReason).toMatch(/exited with code 3.*segfault in kernel 7/);
    expect(sim.of('repetition-retried')).toHaveLength(0);
    expect(out.run.status).toBe('failed');
    expect(sim.store.finished[0]).toMatchObject({ passed: 0, failed: 2 });
  });

  it('output without the declared score is PARSE_FAILED, naming the score', async () => {
    const sim = simulation(fakeMatrix({ cells: 1, targets: lab }), {
      behave: () => ({ durationMs: 500, stdout: 'no numbers here\n' }),
    });
    const [r] = (await sim.run()).results;
    expect(r?.failureClass).toBe('PARSE_FAILED');
    expect(r?.failureReason).toMatch(/score/);
  });

  it("a repetition past the cell's timeout is killed at the timeout and is TIMEOUT", async () => {
    const sim = simulation(fakeMatrix({ cells: 1, targets: lab, entry: '    timeout: 30s' }), {
      behave: () => ({ durationMs: 3_600_000, stdout: 'score: 1\n' }),
    });
    const [r] = (await sim.run()).results;
    expect(r?.failureClass).toBe('TIMEOUT');
    expect(sim.clock.now() - T0).toBeLessThan(31_000);
    expect(sim.provider.engine('fake:lab-1').containers.size).toBe(0);
  });

  it('a failing cell does not stop the others', async () => {
    const sim = simulation(fakeMatrix({ cells: 3, targets: lab }), {
      behave: (c) => (c.spec.argv[1] === '2' ? { durationMs: 10, exitCode: 1 } : ok),
    });
    const out = await sim.run();
    expect(out.results.map((r) => r.status)).toEqual(['passed', 'failed', 'passed']);
  });
});

describe('scheduler: INFRA failures and lost machines', () => {
  it('an INFRA failure on a machine that still answers is recorded, not retried (the cell is at fault)', async () => {
    const sim = simulation(fakeMatrix({ cells: 2, targets: lab }), {
      behave: (c) => (c.spec.argv[1] === '1' ? { failCreate: 'No such device /dev/fpga0' } : ok),
    });
    const out = await sim.run();
    expect(out.results.map((r) => r.failureClass ?? 'ok')).toEqual(['INFRA', 'ok']);
    expect(sim.of('machine-lost')).toHaveLength(0);
    expect(sim.provider.acquired).toHaveLength(1);
  });

  it('a machine that dies mid-repetition is lost and released; the repetition runs again on another machine', async () => {
    const sim = simulation(fakeMatrix({ cells: 1, repetitions: 3, targets: lab }), {
      ...twoMachines,
      behave: (c) => (c.engine === 'lab-1' && c.repetition === 2 ? { ...ok, dieAfterMs: 300 } : ok),
    });
    // One cell: only one machine is acquired at the start; the replacement joins.
    const out = await sim.run();
    expect(out.run.status).toBe('passed');
    expect(out.results.map((r) => [r.repetition, r.machineId, r.status])).toEqual([
      [1, 'fake:lab-1', 'passed'],
      [2, 'fake:lab-2', 'passed'],
      [3, 'fake:lab-2', 'passed'],
    ]);
    expect(sim.of('machine-lost').map((e) => e.machine.id)).toEqual(['fake:lab-1']);
    expect(sim.of('repetition-retried')).toMatchObject([{ repetition: 2, from: 'fake:lab-1' }]);
    expect(sim.of('machine-joined')).toMatchObject([{ replaces: 'fake:lab-1' }]);
    expect(sim.provider.releases.get('fake:lab-1')).toBe(1);
  });

  it('the failed attempt is stored (nothing is lost) but not counted in the run', async () => {
    const sim = simulation(fakeMatrix({ cells: 1, targets: lab }), {
      ...twoMachines,
      behave: (c) => (c.engine === 'lab-1' ? { ...ok, dieAfterMs: 10 } : ok),
    });
    const out = await sim.run();
    expect(sim.store.results.map((r) => r.failureClass ?? r.status)).toEqual(['INFRA', 'passed']);
    expect(out.results).toHaveLength(1);
    expect(sim.store.finished[0]).toMatchObject({ passed: 1, failed: 0 });
  });

  it('a retried cell resumes at the repetition that broke, not from the start', async () => {
    const sim = simulation(fakeMatrix({ cells: 1, repetitions: 4, targets: lab }), {
      ...twoMachines,
      behave: (c) => (c.engine === 'lab-1' && c.repetition === 3 ? { ...ok, dieAfterMs: 10 } : ok),
    });
    await sim.run();
    const second = sim.provider.engine('fake:lab-2').calls.map((c) => c.repetition);
    expect(second).toEqual([3, 4]);
  });

  it('a cell whose machines keep dying is retried twice, then recorded as INFRA', async () => {
    const sim = simulation(fakeMatrix({ cells: 1, targets: lab }), {
      capacity: () => ({ min: 1, max: 5 }),
      behave: () => ({ ...ok, dieAfterMs: 10 }),
    });
    const out = await sim.run();
    expect(sim.of('repetition-retried')).toHaveLength(2);
    expect(out.results.map((r) => r.failureClass)).toEqual(['INFRA']);
    expect(sim.provider.acquired).toHaveLength(3);
    expect(out.run.status).toBe('failed');
  });

  it('with no machine left and none to add, the cells not run fail the run as infrastructure', async () => {
    const sim = simulation(fakeMatrix({ cells: 3, targets: lab }), {
      limit: 1,
      behave: (c) => (c.spec.argv[1] === '1' ? { ...ok, dieAfterMs: 10 } : ok),
    });
    const err = await sim.run().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InfrastructureError);
    expect(String(err)).toMatch(/2 cells were not run/);
    expect(sim.store.finished[0]?.status).toBe('error');
    expect(sim.provider.releasedOnce()).toBe(true);
  });

  it('a machine whose lease is taken over stops its repetition, which runs again elsewhere', async () => {
    const sim = simulation(fakeMatrix({ cells: 1, repetitions: 2, targets: lab }), {
      ...twoMachines,
      behave: () => ({ ...ok, durationMs: 10_000 }),
    });
    const running = sim.start();
    await sim.clock.advance(2_000);
    sim.provider.revoke('fake:lab-1');
    const out = await sim.clock.drive(running);
    expect(out.results.map((r) => [r.repetition, r.machineId])).toEqual([
      [1, 'fake:lab-2'],
      [2, 'fake:lab-2'],
    ]);
    expect(sim.of('machine-lost')[0]?.reason).toMatch(/taken over/);
    expect(sim.store.results[0]).toMatchObject({ machineId: 'fake:lab-1', status: 'failed' });
    expect(sim.provider.releases.get('fake:lab-1')).toBe(1);
  });

  it('machines that cannot get the images take no work: the target fails before anything runs', async () => {
    const sim = simulation(fakeMatrix({ cells: 1, targets: lab }), { images: ['other/image:1'] });
    const err = await sim.run().catch((e: unknown) => e);
    expect(String(err)).toMatch(/image 'fake\/bench:1' is not present on machine 'fake:lab-1'/);
    expect(sim.store.runs).toHaveLength(0);
    expect(sim.provider.releasedOnce()).toBe(true);
    expect(sim.provider.releases.size).toBe(1);
  });
});

describe('scheduler: acquiring machines', () => {
  it('one of two machines failing to come up: the target starts on the other, with a warning, and tries again', async () => {
    const warnings: string[] = [];
    const sim = simulation(fakeMatrix({ cells: 4, targets: lab }), {
      ...twoMachines,
      logger: { debug() {}, info() {}, error() {}, warn: (m) => warnings.push(m) },
    });
    sim.provider.failures.push(new InfrastructureError('InsufficientInstanceCapacity'));
    const out = await sim.run();
    expect(out.results).toHaveLength(4);
    expect(warnings.join('\n')).toMatch(/1 of 2 machines unavailable.*InsufficientInstanceCapacity/);
    // The membership watch asks again while cells wait, and the second machine joins.
    expect(sim.of('machine-joined')).toHaveLength(1);
    expect(sim.provider.acquired).toHaveLength(2);
  });

  it("no machine at all: the run fails with the provider's error and records nothing", async () => {
    const sim = simulation(fakeMatrix({ cells: 1, targets: lab }));
    sim.provider.failures.push(new InfrastructureError('UnauthorizedOperation'));
    const err = await sim.run().catch((e: unknown) => e);
    expect(String(err)).toMatch(/UnauthorizedOperation/);
    expect(sim.store.runs).toHaveLength(0);
  });

  it('a machine another controller holds does not block the run: it starts on what it has, the other joins when free', async () => {
    const sim = simulation(fakeMatrix({ cells: 6, targets: lab }), {
      ...twoMachines,
      hosts: { lab: ['h1', 'h2'] },
      behave: () => ({ ...ok, durationMs: 10_000 }),
    });
    sim.provider.busy.add('h2');
    const running = sim.start();
    await sim.clock.advance(5_000);
    expect(sim.provider.acquired).toEqual(['fake:h1']);
    sim.provider.busy.delete('h2');
    const out = await sim.clock.drive(running);
    expect(new Set(out.results.map((r) => r.machineId))).toEqual(new Set(['fake:h1', 'fake:h2']));
    expect(sim.of('machine-joined').map((e) => e.machine.id)).toEqual(['fake:h2']);
  });

  it('with wait off, a held machine fails the run naming who holds it', async () => {
    const sim = simulation(fakeMatrix({ cells: 1, targets: lab }), { hosts: { lab: ['h1'] }, wait: false });
    sim.provider.busy.add('h1');
    const err = await sim.run().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MachineBusyError);
    expect(String(err)).toMatch(/h1 is held by/);
  });
});

describe('scheduler: cancel', () => {
  it('cancelling mid-run stops running repetitions (CANCELLED), drops the queue, releases everything', async () => {
    const sim = simulation(fakeMatrix({ cells: 5, targets: lab }), {
      behave: () => ({ ...ok, durationMs: 60_000 }),
    });
    const running = sim.start();
    await sim.clock.advance(90_000);
    sim.controller.abort(new CancelledError('interrupted'));
    const err = await sim.clock.drive(running).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CancelledError);
    expect(sim.store.results.map((r) => r.failureClass ?? r.status)).toEqual(['passed', 'CANCELLED']);
    expect(sim.store.finished[0]?.status).toBe('cancelled');
    expect(sim.provider.releasedOnce()).toBe(true);
    expect(sim.provider.engine('fake:lab-1').containers.size).toBe(0);
    expect(sim.clock.now() - T0).toBeLessThan(91_000);
  });

  it('cancelling while machines are being acquired: nothing runs, what was acquired goes back', async () => {
    const sim = simulation(fakeMatrix({ cells: 2, targets: lab }), { ...twoMachines, acquireMs: 30_000 });
    const running = sim.start();
    await sim.clock.advance(10_000);
    sim.controller.abort(new CancelledError('interrupted'));
    const err = await sim.clock.drive(running).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CancelledError);
    expect(sim.store.runs).toHaveLength(0);
    expect(sim.provider.releasedOnce()).toBe(true);
  });
});

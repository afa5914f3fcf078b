/**
 * The provisioning timeline: a provider's steps (in its clock's epoch ms) plus the fleet's
 * (images, agent, first repetition) stored on the machine's record as ms since the request,
 * in simulated time (exact); its comparison along machine axes (`compare --provision`) and
 * the tables that show it.
 */
import { describe, expect, it } from 'vitest';
import {
  silentLogger,
  type AcquireOptions,
  type MachineRecord,
  type Machine,
  type ProvisionStep,
  type TargetSpec,
} from '../../src/core/index.js';
import { compare, provisionResults, withProvision } from '../../src/analysis/index.js';
import { buildReportModel, provisionTable, provisionTimeline } from '../../src/report/index.js';
import { Scheduler } from '../../src/schedule/index.js';
import { provisionSince } from '../../src/schedule/machine-setup.js';
import { scoring, type Behaviour } from '../helpers/sim/fake-engine.js';
import { FakeProvider } from '../helpers/sim/fake-provider.js';
import { MemoryStore } from '../helpers/sim/memory-store.js';
import { CountingMonitor } from '../helpers/sim/null-monitor.js';
import { fakeMatrix, planOf } from '../helpers/sim/simulate.js';
import { VirtualClock } from '../helpers/sim/virtual-clock.js';

/** A cloud-like acquire: each step after the one before, by these many ms. */
const STEPS: readonly [ProvisionStep, number][] = [
  ['created', 1_000],
  ['running', 2_000],
  ['ssh', 3_000],
  ['docker', 500],
];

/**
 * A SteppingProvider machine's stored timeline (ms since the request): STEPS added up, its
 * images there at once (the fake pulls none), its agent and first repetition at `agent`.
 */
function stepped(agent: number): Partial<Record<ProvisionStep, number>> {
  return {
    requested: 0,
    created: 1_000,
    running: 3_000,
    ssh: 6_000,
    docker: 6_500,
    images: 6_500,
    agent,
    firstRepetition: agent,
  };
}

/** A FakeProvider that reports the steps of its acquires on the run's clock, as a cloud's does. */
class SteppingProvider extends FakeProvider {
  override async acquire(target: TargetSpec, signal: AbortSignal, opts?: AcquireOptions): Promise<Machine> {
    const clock = this.clock;
    const at: Partial<Record<ProvisionStep, number>> = { requested: clock.now() };
    for (const [step, ms] of STEPS) {
      await clock.sleep(ms, signal);
      at[step] = clock.now();
    }
    return { ...(await super.acquire(target, signal, opts)), provision: at };
  }

  constructor(
    private readonly clock: VirtualClock,
    behave: Behaviour,
    capacity?: { min: number; max: number },
  ) {
    super({ clock, behave, ...(capacity ? { capacity: () => capacity } : {}) });
  }
}

/** The scheduler with a fingerprint (so machines are recorded), a monitor that takes `agentMs` to start. */
function run(provider: FakeProvider, clock: VirtualClock, o: { agentMs: number; fingerprintMs: number }) {
  const store = new MemoryStore();
  const scheduler = new Scheduler({
    providers: new Map([[provider.name, provider]]),
    store,
    artifacts: { save: () => Promise.reject(new Error('no artifacts')) },
    logger: silentLogger,
    clock,
    session: 's-prov',
    fingerprint: async (_m, signal) => {
      await clock.sleep(o.fingerprintMs, signal);
      return {
        hash: 'f00dfeedf00dfeed',
        fp: { problems: [] },
        collectedAt: new Date(clock.now()).toISOString(),
      };
    },
    monitor: (machine) => {
      const m = new CountingMonitor(machine.id);
      const start = m.start.bind(m);
      m.start = async () => {
        await clock.sleep(o.agentMs);
        await start();
      };
      return m;
    },
  });
  return { store, scheduler };
}

/** The last record of each machine (the store replaces; the memory store keeps every write). */
function lastRecords(store: MemoryStore): Map<string, MachineRecord> {
  return new Map(store.machines.map((m) => [m.machineId, m]));
}

const lab = `  - { name: lab, provider: ssh, hosts: [h1] }`;

describe('provisioning timeline in the scheduler (simulated time)', () => {
  it("a provider's steps and the fleet's are stored as ms since the request, firstRepetition included", async () => {
    const clock = new VirtualClock();
    const provider = new SteppingProvider(clock, scoring());
    const { store, scheduler } = run(provider, clock, { agentMs: 700, fingerprintMs: 2_000 });
    const plan = planOf(fakeMatrix({ cells: 2, repetitions: 2, targets: lab }));
    await clock.drive(scheduler.run(plan, { runId: 'r1', signal: new AbortController().signal }));

    const record = lastRecords(store).get('fake:lab-1')!;
    // created 1 s, running 3 s, ssh 6 s, docker 6.5 s; images at once; the fingerprint takes
    // 2 s before the monitor starts (0.7 s); the first container starts when it is ready.
    expect(record.provision).toEqual(stepped(9_200));
    // Recorded when the run started (up to images), then replaced as it reached agent and its first repetition.
    const writes = store.machines.filter((m) => m.machineId === 'fake:lab-1').map((m) => m.provision);
    expect(writes.map((p) => Object.keys(p ?? {}).at(-1))).toEqual(['images', 'agent', 'firstRepetition']);
  });

  it("a provider that keeps no timeline: the fleet's request starts it, and only the fleet's steps are there", async () => {
    const clock = new VirtualClock();
    const provider = new FakeProvider({ clock, behave: scoring(), acquireMs: 4_000 });
    const { store, scheduler } = run(provider, clock, { agentMs: 100, fingerprintMs: 0 });
    const plan = planOf(fakeMatrix({ cells: 1, targets: lab }));
    await clock.drive(scheduler.run(plan, { runId: 'r1', signal: new AbortController().signal }));
    expect(lastRecords(store).get('fake:lab-1')!.provision).toEqual({
      requested: 0,
      images: 4_000,
      agent: 4_100,
      firstRepetition: 4_100,
    });
  });

  it('a replacement machine has its own timeline, from its own request', async () => {
    const clock = new VirtualClock();
    const ok = { durationMs: 1000, stdout: 'score: 5\n' };
    const provider = new SteppingProvider(
      clock,
      (c) => (c.engine === 'lab-1' && c.repetition === 2 ? { ...ok, dieAfterMs: 300 } : ok),
      { min: 2, max: 2 },
    );
    const { store, scheduler } = run(provider, clock, { agentMs: 250, fingerprintMs: 0 });
    const plan = planOf(fakeMatrix({ cells: 1, repetitions: 3, targets: lab }));
    const out = await clock.drive(scheduler.run(plan, { runId: 'r1', signal: new AbortController().signal }));
    expect(out.results.map((r) => r.machineId)).toContain('fake:lab-2');
    const second = lastRecords(store).get('fake:lab-2')!;
    expect(second.provision).toEqual(stepped(6_750));
  });
});

describe('provisionSince', () => {
  it('is whole ms since requested, in step order, and nothing without a request', () => {
    const t0 = 1_700_000_000_000;
    expect(provisionSince({ docker: t0 + 20.6, requested: t0, ssh: t0 + 10.2 })).toEqual({
      requested: 0,
      ssh: 10,
      docker: 21,
    });
    expect(Object.keys(provisionSince({ docker: t0 + 2, requested: t0, ssh: t0 + 1 })!)).toEqual([
      'requested',
      'ssh',
      'docker',
    ]);
    expect(provisionSince({ ssh: t0 })).toBeUndefined();
  });
});

/** A machine record of `type` whose timeline is `ssh` ms to SSH and twice that to the first repetition. */
function machine(i: number, type: string, ssh: number, runId = 'r1'): MachineRecord {
  return {
    runId,
    machineId: `aws:i-${type}-${i}`,
    target: type,
    provider: 'aws',
    instanceType: type,
    hostname: `i-${type}-${i}`,
    fingerprint: `fp-${type}`,
    collectedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
    hardware: {},
    provision: {
      requested: 0,
      created: 200,
      running: ssh - 100,
      ssh,
      docker: ssh + 50,
      firstRepetition: 2 * ssh,
    },
  };
}

/** A benchmark's results on the machines: m5.large scores 10 ops, the others 20. */
function benchResults(machines: readonly MachineRecord[]) {
  return provisionResults(machines).map((r) => ({
    ...r,
    benchmark: 'bench',
    cellId: 'c1',
    scores: [
      {
        name: 'ops',
        value: r.instanceType === 'm5.large' ? 10 : 20,
        unit: 'ops',
        direction: 'higher' as const,
      },
    ],
  }));
}

describe('compare --provision: machines compared like scores', () => {
  const fast = Array.from({ length: 10 }, (_, i) => machine(i, 'c7i.large', 30_000 + 100 * i));
  const slow = Array.from({ length: 10 }, (_, i) => machine(i, 'm5.large', 60_000 + 100 * i));

  it('one pseudo-result per machine with a timeline, in seconds, lower is better', () => {
    const [r] = provisionResults([fast[0]!, { ...fast[1]!, provision: undefined }]);
    expect(provisionResults([fast[0]!, { ...fast[1]!, provision: undefined }])).toHaveLength(1);
    expect(r!.benchmark).toBe('provision');
    expect(r!.scores.map((s) => [s.name, s.value, s.unit, s.direction])).toEqual([
      ['provision.created', 0.2, 's', 'lower'],
      ['provision.running', 29.9, 's', 'lower'],
      ['provision.ssh', 30, 's', 'lower'],
      ['provision.docker', 30.05, 's', 'lower'],
      ['provision.firstRepetition', 60, 's', 'lower'],
    ]);
  });

  it('rows per step along instance-type, firstRepetition primary, the slower type worse; the geomean untouched', () => {
    const machines = [...fast, ...slow];
    const empty = compare([], { by: 'instance-type', machines });
    const c = withProvision(empty, machines);
    expect(c.groups).toEqual(['c7i.large', 'm5.large']);
    const ssh = c.rows.find((r) => r.score === 'provision.ssh')!;
    expect(ssh.groups.map((g) => [g.group, g.n, g.median])).toEqual([
      ['c7i.large', 10, 30.45],
      ['m5.large', 10, 60.45],
    ]);
    expect(ssh.groups[1]!.verdict).toBe('worse');
    expect(ssh.groups[1]!.ci!.low).toBeGreaterThan(90);
    expect(c.families).toEqual([
      expect.objectContaining({ cell: 'provision', primary: 'provision.firstRepetition' }),
    ]);
    expect(c.geomean).toEqual([]);
  });

  it("joins a results comparison in its groups' order, against its baseline", () => {
    const machines = [...fast, ...slow];
    const results = benchResults(machines);
    const base = compare(results, { by: 'instance-type', machines, baseline: 'm5.large' });
    const c = withProvision(base, machines);
    expect(c.baseline).toBe('m5.large');
    expect(c.rows[0]!.score).toBe('ops');
    const first = c.rows.find((r) => r.score === 'provision.firstRepetition')!;
    expect(first.role).toBe('primary');
    expect(first.groups.map((g) => [g.group, g.verdict])).toEqual([
      ['m5.large', 'baseline'],
      ['c7i.large', 'better'],
    ]);
    expect(c.geomean).toEqual(base.geomean);
  });

  it('an axis machines cannot be grouped by is refused; a baseline without timelines is a warning', () => {
    const machines = [...fast, ...slow];
    expect(() => withProvision(compare([], { by: 'param:n', machines }), machines)).toThrow(RangeError);
    const noTimeline = [...fast, ...slow.map((m) => ({ ...m, provision: undefined }))];
    const base = compare(benchResults(machines), { by: 'instance-type', machines, baseline: 'm5.large' });
    const c = withProvision(base, noTimeline);
    expect(c.rows).toEqual(base.rows);
    expect(c.warnings).toContain(
      "no machine of the baseline 'm5.large' recorded a provisioning timeline: provision.* not compared",
    );
  });
});

describe('results --provision table', () => {
  it('one row per machine, seconds per step reached, - where not; a run column for several runs', () => {
    const a = machine(1, 'c7i.large', 30_000);
    const b = { ...machine(2, 'local', 0, 'r2'), provision: { requested: 0, docker: 4 } };
    const t = provisionTimeline([a, b, { ...a, machineId: 'none', provision: undefined }])!;
    expect(t.machines.map((m) => m.machineId)).toEqual([a.machineId, b.machineId]);
    expect(t.steps.map((s) => s.step)).toEqual([
      'requested',
      'created',
      'running',
      'ssh',
      'docker',
      'firstRepetition',
    ]);
    expect(t.maxMs).toBe(60_000);
    const text = provisionTable(t).replace(/[│┌┐└┘├┤┬┴┼─]/g, ' ');
    expect(text).toMatch(/run\s+machine\s+type\s+created \(s\)/);
    expect(text).toMatch(
      /r1\s+c7i\.large\/i-c7i\.large-1\s+c7i\.large\s+0\.200\s+29\.9\s+30\.0\s+30\.1\s+60\.0/,
    );
    expect(text).toMatch(/r2\s+local\/i-local-2\s+local\s+-\s+-\s+-\s+0\.004\s+-/);
    expect(provisionTimeline([{ ...a, provision: undefined }])).toBeUndefined();
  });
});

describe('report model', () => {
  it('carries the timeline where some machine recorded one, and no section otherwise', () => {
    const a = machine(1, 'c7i.large', 30_000);
    const base = { runs: [], results: [], samples: [], generatedAt: '2026-01-01T00:00:00.000Z' };
    expect(buildReportModel({ ...base, machines: [a] }).provision?.machines.map((m) => m.label)).toEqual([
      'c7i.large/i-c7i.large-1',
    ]);
    expect(buildReportModel({ ...base, machines: [{ ...a, provision: undefined }] })).not.toHaveProperty(
      'provision',
    );
  });
});

/**
 * A run of the real scheduler (fleet, membership, work queues, repetitions,
 * `runContainer`) against simulated machines, in simulated time: the ports are fakes
 * (`FakeProvider` with `FakeEngine`s, `MemoryStore`, `CountingMonitor`), the clock a
 * `VirtualClock`. The plan comes from a real matrix through the real config and planner.
 */
import { silentLogger, type Logger, type Machine } from '../../../src/core/index.js';
import type { Monitor } from '../../../src/metrics/index.js';
import { MapCatalog, validateMatrix, YamlSource } from '../../../src/config/index.js';
import { planMatrix, type Plan } from '../../../src/plan/index.js';
import { Scheduler, type RunEvent, type RunOutcome } from '../../../src/schedule/index.js';
import { FakeProvider, type FakeProviderOptions } from './fake-provider.js';
import { scoring, type Behaviour } from './fake-engine.js';
import { MemoryStore } from './memory-store.js';
import { CountingMonitor } from './null-monitor.js';
import { VirtualClock } from './virtual-clock.js';

/** The inline benchmark every simulated matrix uses: prints `score: N`. */
export const FAKE_BENCHMARK = `
      name: fake
      image: fake/bench:1
      command: ["bench", "{{n}}"]
      params: { n: { type: integer, default: 1, min: 1, max: 100000 } }
      network: none
      timeout: 1h
      scores:
        - { name: score, unit: x, direction: higher, from: stdout, regex: 'score: (?<value>[0-9.]+)' }`;

/** A matrix of `cells` cells of the fake benchmark on the given targets (YAML list items). */
export function fakeMatrix(o: {
  cells: number;
  targets: string;
  repetitions?: number;
  concurrency?: number;
  /** Top-level matrix keys (YAML lines). */
  extra?: string;
  /** Keys of the entry (YAML lines indented by four spaces, e.g. `    timeout: 30s`). */
  entry?: string;
}): string {
  const ns = Array.from({ length: o.cells }, (_, i) => i + 1).join(', ');
  // Blocked unless a test asks for another order: most scheduler tests follow one cell's
  // repetitions back to back.
  const extra = o.extra ?? '';
  return `name: sim
repetitions: ${o.repetitions ?? 1}
concurrency: ${o.concurrency ?? 1}
${/^order:/m.test(extra) ? '' : 'order: blocked'}
${extra}
targets:
${o.targets}
benchmarks:
  - benchmark:${FAKE_BENCHMARK}
    params: { n: [${ns}] }
${o.entry ?? ''}
`;
}

export interface SimOptions extends Partial<Omit<FakeProviderOptions, 'clock'>> {
  behave?: Behaviour;
  /** More providers, built on the simulation's clock. */
  extraProviders?: (clock: VirtualClock) => readonly FakeProvider[];
  wait?: boolean;
  logger?: Logger;
  membershipTickMs?: number;
  /** Each machine's monitor (e.g. a real `MachineMonitor` on the simulation's clock); default `CountingMonitor`. */
  monitor?: (machine: Machine, sim: { clock: VirtualClock; store: MemoryStore }) => Monitor;
}

export function planOf(yaml: string): Plan {
  const catalog = new MapCatalog([]);
  return planMatrix(validateMatrix(YamlSource.parse('sim.yaml', yaml), catalog), catalog);
}

export function simulation(yaml: string, o: SimOptions = {}) {
  const clock = new VirtualClock();
  const provider = new FakeProvider({ ...o, clock, behave: o.behave ?? scoring() });
  const store = new MemoryStore();
  const events: RunEvent[] = [];
  const monitors = new Map<string, CountingMonitor>();
  const plan = planOf(yaml);
  const providers = new Map([
    [provider.name, provider],
    ...(o.extraProviders?.(clock) ?? []).map((p) => [p.name, p] as const),
  ]);
  const scheduler = new Scheduler({
    providers,
    store,
    artifacts: {
      save: () => Promise.reject(new Error('the fake benchmark declares no artifacts')),
    },
    logger: o.logger ?? silentLogger,
    clock,
    session: 's-sim',
    fingerprintImage: false,
    ...(o.wait !== undefined ? { wait: o.wait } : {}),
    ...(o.membershipTickMs !== undefined ? { membershipTickMs: o.membershipTickMs } : {}),
    onEvent: (e) => events.push(e),
    monitor: (machine) => {
      if (o.monitor) return o.monitor(machine, { clock, store });
      const m = new CountingMonitor(machine.id);
      monitors.set(`${machine.id}#${monitors.size}`, m);
      return m;
    },
  });
  const controller = new AbortController();
  let outcome: Promise<RunOutcome> | undefined;
  return {
    clock,
    provider,
    store,
    events,
    monitors,
    plan,
    controller,
    /** Starts the run (once); `drive` then moves simulated time until it ends. */
    start(opts: { tags?: string[] } = {}): Promise<RunOutcome> {
      outcome ??= scheduler.run(plan, {
        runId: 'r-sim',
        signal: controller.signal,
        ...(opts.tags ? { tags: opts.tags } : {}),
      });
      outcome.catch(() => undefined);
      return outcome;
    },
    /** Runs another plan (e.g. a shard of this one) with this simulation's machines. */
    runPlan(other: Plan): Promise<RunOutcome> {
      outcome ??= scheduler.run(other, { runId: 'r-sim', signal: controller.signal });
      return clock.drive(outcome);
    },
    /** Runs it to the end in simulated time. */
    run(opts: { tags?: string[] } = {}): Promise<RunOutcome> {
      return clock.drive(this.start(opts));
    },
    /** The events of one type. */
    of<T extends RunEvent['type']>(type: T): Extract<RunEvent, { type: T }>[] {
      return events.filter((e): e is Extract<RunEvent, { type: T }> => e.type === type);
    },
  };
}

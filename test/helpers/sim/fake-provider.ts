/**
 * A `Provider` of simulated machines, each with its own `FakeEngine`. It behaves as the
 * real ones do where the scheduler depends on it: acquiring takes time, a finite set of
 * hosts can be exhausted (then `acquire` fails as the ssh provider does), another
 * controller's machine is busy (`MachineBusyError`), a pool member can be withdrawn, a
 * lease can be revoked, capacity can change while a run goes, and `release` is idempotent
 * (counted, so a test sees a second release).
 */
import {
  InfrastructureError,
  MachineBusyError,
  type AcquireOptions,
  type Clock,
  type Machine,
  type MachineCount,
  type Provider,
  type TargetSpec,
} from '../../../src/core/index.js';
import { FakeEngine, type Behaviour } from './fake-engine.js';

/** The controller that holds the `busy` hosts. */
const OTHER_CONTROLLER = {
  session: 's-other',
  owner: 'someone-else',
  host: 'ci-2',
  pid: 4711,
  since: '2026-01-01T00:00:00.000Z',
  expiresAt: '2026-01-01T00:01:00.000Z',
};

export interface FakeProviderOptions {
  name?: string;
  clock: Clock;
  behave: Behaviour;
  /** Hosts to hand out, by target name; absent: as many as asked for (`host-1`, …). */
  hosts?: Readonly<Record<string, readonly string[]>>;
  /** Machines per target. @default { min: 1, max: 1 } */
  capacity?: (target: TargetSpec) => MachineCount;
  /** Simulated time an acquire takes. @default 0 */
  acquireMs?: number;
  /** Images present on every new machine. @default ['fake/bench:1'] */
  images?: readonly string[];
  /** Machines it can ever hand out; past that, acquire fails (no capacity). @default unlimited */
  limit?: number;
  /** Machines sharing an engine id (e.g. `() => 'one'`): the run treats them as one engine. */
  engineId?: (host: string) => string | undefined;
}

export class FakeProvider implements Provider {
  readonly name: string;
  readonly capabilities = { elastic: true, spot: false, selfTerminate: false };
  readonly engines = new Map<string, FakeEngine>();
  readonly acquired: string[] = [];
  /** Release calls by machine id (a second one is a bug in the caller). */
  readonly releases = new Map<string, number>();
  /** When each machine was first released (the clock's time). */
  readonly releasedAt = new Map<string, number>();
  /** Hosts another controller holds now. */
  readonly busy = new Set<string>();
  /** Next acquires fail with these errors, in order. */
  readonly failures: Error[] = [];
  private readonly withdrawals = new Map<string, 'drain' | 'now'>();
  private readonly revocations = new Map<string, AbortController>();
  private readonly inUse = new Set<string>();
  private counter = 0;
  capacityOverride: ((target: TargetSpec) => MachineCount) | undefined;

  constructor(private readonly o: FakeProviderOptions) {
    this.name = o.name ?? 'ssh';
  }

  capacity(target: TargetSpec): MachineCount {
    return (this.capacityOverride ?? this.o.capacity)?.(target) ?? { min: 1, max: 1 };
  }

  async acquire(target: TargetSpec, signal: AbortSignal, opts: AcquireOptions = {}): Promise<Machine> {
    signal.throwIfAborted();
    if (this.o.acquireMs) await this.o.clock.sleep(this.o.acquireMs, signal);
    const failure = this.failures.shift();
    if (failure) throw failure;
    if (this.acquired.length >= (this.o.limit ?? Infinity))
      throw new InfrastructureError(`no capacity: all ${this.o.limit} machines were handed out`);
    const host = await this.pickHost(target, signal, opts);
    const id = `fake:${host}`;
    const engine = new FakeEngine(host, this.o.clock, this.o.behave, this.o.images);
    this.engines.set(id, engine);
    this.acquired.push(id);
    const revoked = new AbortController();
    this.revocations.set(id, revoked);
    const engineId = this.o.engineId?.(host);
    return {
      id,
      provider: this.name,
      instanceType: 'fake.large',
      hostname: host,
      engine,
      localCgroups: false,
      revoked: revoked.signal,
      ...(engineId ? { engineId } : {}),
    };
  }

  private async pickHost(target: TargetSpec, signal: AbortSignal, opts: AcquireOptions): Promise<string> {
    const listed = this.o.hosts?.[target.name];
    if (!listed) {
      const host = `${target.name}-${++this.counter}`;
      this.inUse.add(host);
      return host;
    }
    for (;;) {
      const free = listed.find((h) => !this.inUse.has(h) && !this.busy.has(h));
      // Taken before anything else can ask (acquires run concurrently).
      if (free) {
        this.inUse.add(free);
        return free;
      }
      const held = listed.filter((h) => this.busy.has(h) && !this.inUse.has(h));
      if (held.length === 0)
        throw new InfrastructureError(
          `target '${target.name}': all ${listed.length} hosts are in use by this run`,
        );
      if (opts.wait === false)
        throw new MachineBusyError(
          held.map((machine) => ({ machine, holder: OTHER_CONTROLLER })),
          { target: target.name },
        );
      await this.o.clock.sleep(1000, signal);
    }
  }

  async release(machine: Machine): Promise<void> {
    this.releases.set(machine.id, (this.releases.get(machine.id) ?? 0) + 1);
    if (this.releases.get(machine.id)! > 1) return;
    this.releasedAt.set(machine.id, this.o.clock.now());
    this.inUse.delete(machine.hostname);
    const engine = this.engines.get(machine.id);
    if (engine?.alive) await engine.removeLabelled([]);
  }

  withdrawn(machine: Machine): 'drain' | 'now' | undefined {
    return this.withdrawals.get(machine.id);
  }

  /** The machine leaves its pool (as `pool drain` / `pool remove --now` make it). */
  withdraw(id: string, how: 'drain' | 'now'): void {
    this.withdrawals.set(id, how);
  }

  /** Another controller took the machine's lease. */
  revoke(id: string, why = 'its lease was taken over by another controller'): void {
    this.revocations.get(id)?.abort(new InfrastructureError(why));
  }

  engine(id: string): FakeEngine {
    const e = this.engines.get(id);
    if (!e) throw new Error(`no machine ${id}`);
    return e;
  }

  /** Machines released once, and none twice. */
  releasedOnce(): boolean {
    return [...this.releases.values()].every((n) => n === 1);
  }
}

/**
 * The machines of one run: acquiring every target's machines, making their images present
 * and taking their hardware fingerprints, adding one while the run goes (a replacement, a
 * new pool member, one more of an elastic target), noticing that one broke, left its pool
 * or stayed idle, their metrics monitors, and releasing each exactly once, early where it
 * is no longer needed.
 */
import type Docker from 'dockerode';
import PQueue from 'p-queue';
import {
  CancelledError,
  InfrastructureError,
  MachineBusyError,
  errorMessage,
  type Clock,
  type Logger,
  type Machine,
  type MachineCount,
  type MatrixCell,
  type MetricSink,
  type MetricsPolicy,
  type Provider,
  type ProvisionStep,
  type RepetitionResult,
  type ResultStore,
} from '../core/index.js';
import { MachineMonitor, type Monitor } from '../metrics/index.js';
import type { Plan } from '../plan/index.js';
import type { RunEvent } from './events.js';
import { FleetMachine } from './fleet-machine.js';
import {
  DEFAULT_FINGERPRINT_IMAGE,
  machineRecord,
  prepareImages,
  takeFingerprint,
  type HashedFingerprint,
  type SetupContext,
} from './machine-setup.js';

export interface FleetDeps {
  providers: ReadonlyMap<string, Provider>;
  /**
   * A machine another controller holds: wait for it (true; the run starts with the machines
   * it has and the others join when free), or fail the run naming the holder (false).
   * @default true
   */
  wait?: boolean;
  store: ResultStore & MetricSink;
  logger: Logger;
  clock: Clock;
  session: string;
  onEvent?: (event: RunEvent) => void;
  /**
   * The controller's Docker engine: images missing on a remote machine come from it (by
   * digest through the run's registry, else `docker save | load` over its connection).
   */
  imageSource?: Docker;
  /**
   * The image the hardware fingerprint probe runs in on every machine (brought to remote
   * ones like the benchmark images); `false`: no fingerprints (e.g. fake machines in tests).
   * @default DEFAULT_FINGERPRINT_IMAGE
   */
  fingerprintImage?: string | false;
  /**
   * Takes a machine's hardware fingerprint instead of the probe (`fingerprintImage`): fixed
   * hardware for simulated machines in tests.
   */
  fingerprint?: (machine: Machine, signal: AbortSignal) => Promise<HashedFingerprint | undefined>;
  /** Told when a machine is ready and before it is released (its Docker events are followed). */
  machineWatch?: MachineWatch;
  /** Progress lines a user should see whatever the log level (e.g. waiting for a machine). */
  progress?: (line: string) => void;
  /**
   * The metrics of one machine for one run, writing to `sink`.
   * @default in-process container collectors only
   */
  monitor?: (
    machine: Machine,
    sink: MetricSink,
    opts: {
      intervalMs: number;
      policy: MetricsPolicy;
      session: string;
      /** The run's registry as this controller pushes to it and the machine's target pulls from it. */
      registry?: { push: string; pull: string };
    },
  ) => Monitor;
}

/**
 * Told when a machine is ready and before it is released, e.g. to follow its Docker
 * events. A watch that fails is a warning, never a reason to stop the run.
 */
export interface MachineWatch {
  follow(machine: Machine): Promise<void>;
  unfollow(machineId: string): Promise<void>;
}

/** How long a machine's engine has to answer after an INFRA failure before it counts as lost. */
const PING_TIMEOUT_MS = 10_000;

/** How long a lost machine's monitor gets to stop. */
const LOST_MONITOR_MS = 5_000;

export class Fleet {
  /** Every machine of the run (grows when one joins). */
  readonly placed: FleetMachine[] = [];
  /** Each target's spec, by name. */
  private readonly specs = new Map<string, MatrixCell['target']>();
  /** The run's image registry, as this machine pushes to it. */
  private registry: string | undefined;
  /** Machine records being replaced (a step reached while the run goes): settled before release. */
  private readonly recording = new Set<Promise<void>>();
  private readonly clock: Clock;
  private readonly session: string;

  constructor(private readonly deps: FleetDeps) {
    this.clock = deps.clock;
    this.session = deps.session;
  }

  /**
   * Acquires the machines of every target and makes its images present. A target with at
   * least one usable machine runs; one with none stops the run before it starts.
   */
  async place(plan: Plan, signal: AbortSignal): Promise<void> {
    const byTarget = groupByTarget(plan.cells);
    for (const [target, cells] of byTarget) this.specs.set(target, cells[0]!.target);
    this.registry = plan.registry;
    // Provisioning is slow and rate-limited by the clouds: a few at a time.
    const acquiring = new PQueue({ concurrency: 8 });
    const failures = new Map<string, unknown>();
    await Promise.all(
      [...byTarget].map(async ([target, cells]) => {
        const spec = cells[0]!.target;
        const provider = this.deps.providers.get(spec.provider);
        if (!provider) {
          failures.set(
            target,
            new InfrastructureError(`no provider '${spec.provider}' for target '${target}'`),
          );
          return;
        }
        const want = Math.max(1, Math.min(capacityOf(provider, spec).min, cells.length));
        // allSettled, not all: every acquired machine must be in `placed` before teardown runs.
        const settled = await Promise.allSettled(
          Array.from({ length: want }, () =>
            acquiring.add(async () => {
              signal.throwIfAborted();
              const requested = this.clock.now();
              // Never wait here: a machine held by another controller joins once free (membership),
              // so no run waits for one machine while holding another someone else waits for.
              const machine = await provider.acquire(spec, signal, { wait: false });
              const entry = this.add(target, provider, machine, requested);
              await this.prepare(entry, cells, signal);
              this.deps.onEvent?.({ type: 'machine-ready', target, machine });
              return entry;
            }),
          ),
        );
        const ok = settled.filter((s) => s.status === 'fulfilled').length;
        const errors = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason as unknown] : []));
        const busy = errors.filter((e): e is MachineBusyError => e instanceof MachineBusyError);
        const waitable = this.deps.wait !== false && busy.length === errors.length;
        if (busy.length > 0 && waitable)
          this.say(
            `${busy[0]!.waiting} (target '${target}' ${ok > 0 ? `starts on ${ok}` : 'waits'}; it joins when free)`,
          );
        const firstError = errors.find((e) => !(e instanceof MachineBusyError)) ?? errors[0];
        if (ok === 0 && !waitable) failures.set(target, firstError);
        else if (firstError && !waitable)
          this.deps.logger.warn(
            `target '${target}': ${want - ok} of ${want} machines unavailable (${String(firstError)}); running on ${ok}`,
          );
      }),
    );
    signal.throwIfAborted();
    const failed = [...failures.values()][0];
    if (failures.size > 0) throw failed;
  }

  /**
   * A machine acquired for the target: in the run from now on, so that it is always released.
   * Its timeline starts with the provider's steps; a provider that kept none starts it when
   * the fleet asked (`requested`).
   */
  private add(target: string, provider: Provider, machine: Machine, requested: number): FleetMachine {
    const entry = new FleetMachine(target, provider, machine, (m) => this.releaseOne(m));
    Object.assign(entry.provision, { requested }, machine.provision);
    this.placed.push(entry);
    this.watchRevoked(entry);
    return entry;
  }

  /**
   * Its images present, its fingerprint taken, its events followed: it takes cells. One that
   * cannot be prepared is lost (and released) at once.
   */
  private async prepare(
    entry: FleetMachine,
    cells: readonly MatrixCell[],
    signal: AbortSignal,
  ): Promise<void> {
    try {
      await this.prepareImages(entry, cells, signal);
      entry.provision.images = this.clock.now();
      await this.fingerprint(entry, signal);
      await this.follow(entry.machine);
    } catch (err) {
      entry.lose(`not prepared: ${errorMessage(err)}`);
      throw err;
    }
    entry.ready();
  }

  private async prepareImages(
    entry: FleetMachine,
    cells: readonly MatrixCell[],
    signal: AbortSignal,
  ): Promise<void> {
    const images = await prepareImages(entry.machine, entry.target, cells, {
      ...this.setupContext(signal),
      ...(this.registry ? { registry: this.registry } : {}),
      ...(this.deps.onEvent ? { onEvent: this.deps.onEvent } : {}),
    });
    for (const [ref, info] of images) entry.images.set(ref, info);
  }

  /** The machine's hardware fingerprint; a machine without one still runs. */
  private async fingerprint(entry: FleetMachine, signal: AbortSignal): Promise<void> {
    if (this.deps.fingerprint) {
      const hw = await this.deps.fingerprint(entry.machine, signal);
      if (hw) entry.fingerprint = hw;
      return;
    }
    const image = this.deps.fingerprintImage ?? DEFAULT_FINGERPRINT_IMAGE;
    if (image === false) return;
    const hw = await takeFingerprint(entry.machine, image, {
      ...this.setupContext(signal),
      session: this.session,
    });
    if (hw) entry.fingerprint = hw;
  }

  private setupContext(signal: AbortSignal): SetupContext {
    return {
      logger: this.deps.logger,
      clock: this.clock,
      signal,
      ...(this.deps.imageSource ? { imageSource: this.deps.imageSource } : {}),
    };
  }

  /**
   * Stores the machine with its fingerprint under the run (once the run is recorded). A
   * store that fails loses the machine's record, not the run: a warning.
   */
  async recordMachine(p: FleetMachine, runId: string): Promise<void> {
    if (!p.fingerprint || !this.deps.store.recordMachine) return;
    const record = machineRecord(p.machine, p.target, p.fingerprint, runId, p.provision);
    await this.deps.store
      .recordMachine(record)
      .catch((err: unknown) =>
        this.deps.logger.warn(`recording machine ${p.machine.id} failed: ${errorMessage(err)}`),
      );
  }

  /**
   * The machine reached a step of its timeline after the run recorded it (`agent`,
   * `firstRepetition`): noted once, and its record replaced to carry it.
   */
  reached(p: FleetMachine, step: ProvisionStep, runId: string): void {
    if (p.provision[step] !== undefined) return;
    p.provision[step] = this.clock.now();
    const recording = this.recordMachine(p, runId);
    this.recording.add(recording);
    void recording.finally(() => this.recording.delete(recording));
  }

  /** Starts the machine's metrics for the run: the timeline's `agent` step once they are ready. */
  async startMonitor(p: FleetMachine, plan: Plan, runId: string): Promise<void> {
    p.monitor = this.monitorFor(p.machine, plan, p.target);
    await p.monitor.start(runId);
    this.reached(p, 'agent', runId);
  }

  /** Progress a user should see whatever the log level. */
  private say(line: string): void {
    if (this.deps.progress) this.deps.progress(line);
    else this.deps.logger.info(line);
  }

  /**
   * A machine that stops being ours (its lease on the machine was lost or taken over) is
   * lost at once: what runs there stops and runs again on another machine of the target.
   */
  private watchRevoked(p: FleetMachine): void {
    const revoked = p.machine.revoked;
    if (!revoked) return;
    const onRevoked = () => {
      const reason = errorMessage(revoked.reason ?? 'its lease was lost');
      const stop = new CancelledError(`machine ${p.machine.id} is no longer ours: ${reason}`);
      // Its repetitions stop and record how they ended before it goes back.
      if (p.lose(reason, { now: false, stop })) {
        this.deps.onEvent?.({ type: 'machine-lost', target: p.target, machine: p.machine, reason });
        this.deps.logger.warn(
          `machine ${p.machine.id} of target '${p.target}' is lost: ${reason}; what ran there runs again on another machine`,
        );
      }
    };
    if (revoked.aborted) onRevoked();
    else revoked.addEventListener('abort', onRevoked, { once: true });
  }

  private async follow(machine: Machine): Promise<void> {
    await this.deps.machineWatch
      ?.follow(machine)
      .catch((err: unknown) =>
        this.deps.logger.warn(`not following the Docker events of ${machine.id}: ${String(err)}`),
      );
  }

  /** Asks the machine's provider whether it left its pool; withdraws it if so. */
  checkWithdrawn(p: FleetMachine): void {
    const how = p.provider.withdrawn?.(p.machine);
    if (!how) return;
    const moved =
      how === 'now'
        ? p.stopNow(new CancelledError(`machine ${p.machine.id} was withdrawn from its pool`))
        : p.drain();
    if (!moved) return;
    this.deps.onEvent?.({ type: 'machine-withdrawn', target: p.target, machine: p.machine, how });
    this.deps.logger.info(
      how === 'now'
        ? `machine ${p.machine.id} left target '${p.target}': stopping what runs there, it runs again on another machine`
        : `machine ${p.machine.id} left target '${p.target}': it finishes its current cells and takes no other`,
    );
  }

  /**
   * Adds a machine to a running run: a lost machine's replacement (the next free pool
   * member, a new instance) or one more where the target's capacity grew. Acquires it,
   * makes the images present, starts its metrics and its workers, which take the target's
   * queued cells at once. A machine that cannot be prepared is released again.
   */
  async join(
    target: string,
    provider: Provider,
    ctx: { plan: Plan; runId: string; spawn: (p: FleetMachine) => void },
    signal: AbortSignal,
    replaces?: Machine,
  ): Promise<FleetMachine> {
    const cells = ctx.plan.cells.filter((c) => c.target.name === target);
    const requested = this.clock.now();
    const machine = await provider.acquire(cells[0]!.target, signal, { wait: this.deps.wait !== false });
    const entry = this.add(target, provider, machine, requested);
    await this.prepare(entry, cells, signal);
    try {
      await this.startMonitor(entry, ctx.plan, ctx.runId);
    } catch (err) {
      entry.lose(`not prepared: ${errorMessage(err)}`);
      throw err;
    }
    await this.recordMachine(entry, ctx.runId);
    this.deps.onEvent?.({ type: 'machine-ready', target, machine });
    this.deps.onEvent?.({
      type: 'machine-joined',
      target,
      machine,
      ...(replaces ? { replaces: replaces.id } : {}),
    });
    this.deps.logger.info(
      `machine ${machine.id} joined target '${target}'${replaces ? ` in place of ${replaces.id}` : ''}`,
    );
    ctx.spawn(entry);
    return entry;
  }

  /**
   * A worker of `p` waited the target's idle time without a cell. The machine is released
   * when none of its workers runs a cell and the target keeps more than its minimum
   * (at least one) without it; its other workers then stop taking cells.
   */
  retireIfIdle(p: FleetMachine): boolean {
    if (p.busy > 0 || !p.active) return false;
    const { min } = capacityOf(p.provider, this.specs.get(p.target)!);
    const active = this.active(p.target).length;
    if (active <= Math.max(1, min)) return false;
    p.retire();
    this.deps.onEvent?.({ type: 'machine-idle', target: p.target, machine: p.machine });
    this.deps.logger.info(
      `machine ${p.machine.id} of target '${p.target}' had nothing to run: releasing it (${active - 1} left)`,
    );
    return true;
  }

  /** The machines of the target that take cells now. */
  active(target: string): FleetMachine[] {
    return this.placed.filter((p) => p.target === target && p.active);
  }

  /**
   * After an INFRA failure: is the machine itself gone (its connection closed, its engine
   * not answering)? Then it takes no more work and is released now.
   */
  async machineBroke(p: FleetMachine, result: RepetitionResult): Promise<boolean> {
    if (p.lostReason !== undefined) return true;
    const alive = await p.machine.engine.ping(PING_TIMEOUT_MS);
    if (alive) return false;
    const reason = result.failureReason ?? 'machine not answering';
    if (p.lose(reason)) {
      this.deps.onEvent?.({ type: 'machine-lost', target: p.target, machine: p.machine, reason });
      this.deps.logger.warn(`machine ${p.machine.id} of target '${p.target}' is lost: ${reason}`);
    }
    return true;
  }

  monitorFor(machine: Machine, plan: Plan, target: string): Monitor {
    const intervalMs = plan.metricsIntervalMs;
    // The target's machines may reach the run's registry at their own address (as in prepareImages).
    const pull = this.specs.get(target)?.registry ?? plan.registry;
    if (this.deps.monitor)
      return this.deps.monitor(machine, this.deps.store, {
        intervalMs,
        policy: plan.metrics,
        session: this.session,
        ...(plan.registry && pull ? { registry: { push: plan.registry, pull } } : {}),
      });
    return new MachineMonitor({
      host: machine.hostname,
      intervalMs,
      quiet: plan.metrics.quiet,
      output: this.deps.store,
      containers: machine.localCgroups,
      clock: this.clock,
      logger: this.deps.logger,
    });
  }

  /** Stops the machine's metrics once, whoever asks first (the run's end, an early release). */
  stopMonitor(p: FleetMachine): Promise<void> {
    return (p.monitorStopped ??= (p.monitor?.stop() ?? Promise.resolve()).catch((err: unknown) =>
      this.deps.logger.warn(`stopping metrics on ${p.machine.id}: ${String(err)}`),
    ));
  }

  async releaseAll(): Promise<void> {
    await Promise.all(this.recording);
    await Promise.all(this.placed.map((p) => p.release()));
  }

  /** What releasing a machine does; `FleetMachine.release` calls it once. */
  private async releaseOne(p: FleetMachine): Promise<void> {
    // A fresh signal: teardown must finish even when the run was cancelled.
    const signal = AbortSignal.timeout(15 * 60_000);
    if (p.lostReason !== undefined) {
      // A lost machine's monitor may never answer: it gets a few seconds.
      const giveUp = new AbortController();
      await Promise.race([
        p.monitor?.stop().catch(() => {}),
        this.clock.sleep(LOST_MONITOR_MS, giveUp.signal).catch(() => {}),
      ]);
      giveUp.abort();
    }
    // Released before the run ends too: what its metrics hold is handed over first.
    else await this.stopMonitor(p);
    await this.deps.machineWatch
      ?.unfollow(p.machine.id)
      .catch((err: unknown) => this.deps.logger.warn(`events of ${p.machine.id}: ${String(err)}`));
    try {
      await p.provider.release(p.machine, signal);
    } catch (err) {
      this.deps.logger.error(`releasing machine ${p.machine.id} failed: ${String(err)}; run 'benchyard gc'`, {
        target: p.target,
      });
    }
  }
}

/** The provider's number of machines for the target (one when it says nothing). */
export function capacityOf(provider: Provider, spec: MatrixCell['target']): MachineCount {
  return provider.capacity?.(spec) ?? { min: 1, max: 1 };
}

export function groupByTarget(cells: readonly MatrixCell[]): Map<string, MatrixCell[]> {
  const byTarget = new Map<string, MatrixCell[]>();
  for (const c of cells) {
    const list = byTarget.get(c.target.name);
    if (list) list.push(c);
    else byTarget.set(c.target.name, [c]);
  }
  return byTarget;
}

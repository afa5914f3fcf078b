/**
 * Runs a plan: acquires the machines of every target (one, or as many as the target's
 * provider offers: ssh hosts, `count` cloud instances), makes every image present on them
 * before anything starts, then each machine takes the target's cells from a shared queue
 * (`concurrency` at once per machine, a cell's repetitions back to back). A repetition
 * that fails because its machine broke (INFRA) is retried on another machine of the
 * target. Machines are released whatever happens.
 *
 * Targets can gain and lose machines while the run goes (pool members added, drained or
 * removed): a membership tick adds a machine where the provider's capacity grew, and
 * withdraws the machines their provider says left (they finish their cell, or with `now`
 * stop it; the cell runs again on another machine), releasing each as soon as it is idle.
 */
import type Docker from 'dockerode';
import PQueue from 'p-queue';
import { randomBytes } from 'node:crypto';
import {
  CancelledError,
  InfrastructureError,
  systemClock,
  type ArtifactStore,
  type Clock,
  type Logger,
  type Machine,
  type MatrixCell,
  type MetricSink,
  type MetricsPolicy,
  type Provider,
  type RepetitionResult,
  type ResultStore,
  type RunRecord,
} from '../core/index.js';
import { buildImage, inspectImage, shipImage, type ImageInfo } from '../engine/index.js';
import { MachineMonitor, type Monitor } from '../metrics/index.js';
import type { Plan } from '../plan/index.js';
import { wantsAnotherRepetition } from './adaptive.js';
import { runRepetition } from './repetition.js';
import { WorkQueue } from './work-queue.js';

export type RunEvent =
  | { type: 'run-started'; run: RunRecord }
  | { type: 'machine-ready'; target: string; machine: Machine }
  | { type: 'machine-lost'; target: string; machine: Machine; reason: string }
  /** A machine joined the running run: the target's capacity grew, or it replaces a lost one. */
  | { type: 'machine-joined'; target: string; machine: Machine; replaces?: string }
  /** The machine left its pool: `drain` finishes its current cells, `now` stops them (they run elsewhere). */
  | { type: 'machine-withdrawn'; target: string; machine: Machine; how: 'drain' | 'now' }
  | { type: 'image-build'; target: string; image: string; context: string }
  | { type: 'repetition-started'; cell: MatrixCell; repetition: number }
  | { type: 'repetitions-extended'; cell: MatrixCell; measured: number }
  | { type: 'repetition-finished'; cell: MatrixCell; result: RepetitionResult }
  | { type: 'repetition-retried'; cell: MatrixCell; repetition: number; from: string; reason: string };

export interface SchedulerDeps {
  providers: ReadonlyMap<string, Provider>;
  store: ResultStore & MetricSink;
  artifacts: ArtifactStore;
  logger: Logger;
  /** Label for everything this controller creates. @default a random id per scheduler */
  session?: string;
  clock?: Clock;
  onEvent?: (event: RunEvent) => void;
  /**
   * The controller's Docker engine: images missing on a remote machine are shipped from
   * it (`docker save | load` over the machine's connection).
   */
  imageSource?: Docker;
  /**
   * The metrics of one machine for one run, writing to `sink`.
   * @default in-process container collectors only
   */
  monitor?: (
    machine: Machine,
    sink: MetricSink,
    opts: { intervalMs: number; policy: MetricsPolicy; session: string },
  ) => Monitor;
  /**
   * How often a running run asks the providers whether its targets gained machines
   * (`capacity`) or lost them (`withdrawn`).
   * @default 1000
   */
  membershipTickMs?: number;
}

export interface RunOutcome {
  run: RunRecord;
  results: RepetitionResult[];
}

/** One machine of a target, with what it needs to run cells. */
interface Placed {
  target: string;
  provider: Provider;
  machine: Machine;
  images: Map<string, ImageInfo>;
  monitor?: Monitor;
  /** Set once the machine broke: it takes no more work and is released early. */
  lost?: string;
  /** Set once it left its pool: it takes no more work and is released once its workers are done. */
  withdrawn?: 'drain' | 'now';
  /** Aborted when it is withdrawn: its workers take no new cell. */
  draining: AbortController;
  /** Aborted when it is withdrawn `now`: its running repetitions stop. */
  stopping: AbortController;
  /** Its workers still running. */
  workers: number;
  /** Its metrics stopped (once: an early release and the run's end both ask). */
  monitorStopped?: Promise<void>;
  released?: Promise<void>;
}

/** A cell still to run, from `fromRep` on (a retried cell resumes where its machine broke). */
interface Work {
  cell: MatrixCell;
  fromRep: number;
  planned: number;
  measured: RepetitionResult[];
  startedAt?: number;
  infraRetries: number;
}

/** What every worker of a run shares. */
interface RunShared {
  /** Every machine of the run (grows when a lost machine is replaced). */
  placed: Placed[];
  run: RunRecord;
  results: RepetitionResult[];
  plan: Plan;
  signal: AbortSignal;
  /** Starts the workers of a machine that joins the run. */
  spawn: (p: Placed) => void;
  /**
   * Adds a machine to the target (or waits for the one being added); `undefined` when the
   * provider has none to give.
   */
  join: (target: string, replaces?: Machine) => Promise<Placed | undefined>;
}

/** The membership of a run's targets, while it executes. */
interface Membership {
  /** Adds machines where a target's capacity grew; withdraws the machines that left. */
  tick(): Promise<void>;
  join: RunShared['join'];
  /** Joins in flight for targets that still have queued cells. */
  wanted(): Promise<unknown>[];
  /** Stops the tick and the joins in flight; resolves once they have settled. */
  stop(): Promise<void>;
}

/** A repetition that failed because its machine broke is retried elsewhere this many times. */
const MAX_INFRA_RETRIES = 2;
/** A target whose provider had no machine to add is asked again after this long. */
const JOIN_RETRY_MS = 5_000;

export function newRunId(now: number): string {
  const stamp = new Date(now).toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

export class Scheduler {
  private readonly clock: Clock;
  private readonly session: string;

  constructor(private readonly deps: SchedulerDeps) {
    this.clock = deps.clock ?? systemClock;
    this.session = deps.session ?? `s-${randomBytes(6).toString('hex')}`;
  }

  async run(plan: Plan, opts: { runId: string; signal: AbortSignal }): Promise<RunOutcome> {
    const placed: Placed[] = [];
    try {
      await this.place(plan, placed, opts.signal);
      return await this.execute(plan, placed, opts);
    } catch (err) {
      // Whatever an interrupted acquire or build threw, the run was cancelled.
      if (opts.signal.aborted && !(err instanceof CancelledError))
        throw new CancelledError(`run ${opts.runId} cancelled`, { runId: opts.runId });
      throw err;
    } finally {
      await this.releaseAll(placed);
    }
  }

  /**
   * Acquires the machines of every target and makes its images present. A target with at
   * least one usable machine runs; one with none stops the run before it starts.
   */
  private async place(plan: Plan, placed: Placed[], signal: AbortSignal): Promise<void> {
    const byTarget = groupByTarget(plan.cells);
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
        const want = Math.max(1, Math.min(provider.capacity?.(spec) ?? 1, cells.length));
        // allSettled, not all: every acquired machine must be in `placed` before teardown runs.
        const settled = await Promise.allSettled(
          Array.from({ length: want }, () =>
            acquiring.add(async () => {
              signal.throwIfAborted();
              const machine = await provider.acquire(spec, signal);
              const entry = placedOn(target, provider, machine);
              placed.push(entry);
              await this.prepareImages(entry, cells, signal);
              this.deps.onEvent?.({ type: 'machine-ready', target, machine });
              return entry;
            }),
          ),
        );
        const ok = settled.filter((s) => s.status === 'fulfilled').length;
        const firstError = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected')?.reason;
        if (ok === 0) failures.set(target, firstError);
        else if (firstError)
          this.deps.logger.warn(
            `target '${target}': ${want - ok} of ${want} machines unavailable (${String(firstError)}); running on ${ok}`,
          );
      }),
    );
    signal.throwIfAborted();
    const failed = [...failures.values()][0];
    if (failures.size > 0) throw failed;
    // Machines whose images could not be prepared take no work.
    for (const p of placed) if (p.images.size === 0 && p.lost === undefined) p.lost = 'not prepared';
  }

  private async prepareImages(
    entry: Placed,
    cells: readonly MatrixCell[],
    signal: AbortSignal,
  ): Promise<void> {
    const { machine, target } = entry;
    const images = new Map<string, ImageInfo>();
    for (const [ref, build] of new Map(cells.map((c) => [c.image, c.build]))) {
      if (build !== undefined) {
        this.deps.onEvent?.({ type: 'image-build', target, image: ref, context: build });
        await buildImage(machine.docker, build, ref, { logger: this.deps.logger, signal });
      } else if (machine.ssh && this.deps.imageSource) {
        const how = await shipImage(this.deps.imageSource, machine.docker, ref, machine.id, { signal });
        if (how === 'shipped') this.deps.logger.info(`shipped image ${ref} to ${machine.id}`);
      }
      images.set(ref, await inspectImage(machine.docker, ref, machine.id));
    }
    for (const [ref, info] of images) entry.images.set(ref, info);
  }

  private async execute(
    plan: Plan,
    placed: Placed[],
    opts: { runId: string; signal: AbortSignal },
  ): Promise<RunOutcome> {
    const { store, logger } = this.deps;
    const run: RunRecord = {
      id: opts.runId,
      name: plan.matrixName,
      matrixPath: plan.matrixFile,
      status: 'running',
      startedAt: new Date(this.clock.now()).toISOString(),
      cells: plan.cells.length,
      repetitions: plan.repetitions,
      passed: 0,
      failed: 0,
    };
    await store.startRun(run, plan.cells);
    this.deps.onEvent?.({ type: 'run-started', run });
    const results: RepetitionResult[] = [];
    const errors: unknown[] = [];
    try {
      for (const p of placed) {
        if (p.lost) continue;
        p.monitor = this.monitorFor(p.machine, plan);
        await p.monitor.start(run.id);
      }
      const queues = new Map(
        [...groupByTarget(plan.cells)].map(([target, cells]) => [
          target,
          new WorkQueue<Work>(
            cells.map((cell) => ({
              cell,
              fromRep: 1,
              planned: cell.warmup + cell.repetitions,
              measured: [],
              infraRetries: 0,
            })),
          ),
        ]),
      );
      // Queued cells are dropped on cancel; running ones end on their own (the engine
      // kills their containers) and are recorded as cancelled.
      const onAbort = () => queues.forEach((q) => q.close());
      opts.signal.addEventListener('abort', onAbort, { once: true });
      // Each machine runs `concurrency` workers; a machine that joins adds its own while
      // the others run, so the list grows as it is awaited.
      const workers: Promise<void>[] = [];
      const shared: RunShared = {
        placed,
        run,
        results,
        plan,
        signal: opts.signal,
        spawn: (p: Placed) => {
          for (let i = 0; i < plan.concurrency; i++) {
            p.workers++;
            workers.push(
              this.worker(p, queues.get(p.target)!, shared)
                .catch((err: unknown) => {
                  errors.push(err);
                  queues.forEach((q) => q.close());
                })
                .finally(() => {
                  // A machine that left its pool goes back as soon as it is idle.
                  if (--p.workers === 0 && p.withdrawn && !p.lost) p.released ??= this.releaseOne(p);
                }),
            );
          }
        },
        join: (target, replaces) => membership.join(target, replaces),
      };
      const membership = this.membership(queues, shared);
      try {
        for (const p of placed) if (!p.lost) shared.spawn(p);
        const timer = setInterval(() => void membership.tick(), this.deps.membershipTickMs ?? 1000);
        timer.unref();
        try {
          for (;;) {
            for (let i = 0; i < workers.length; i++) await workers[i];
            // Every worker is done: cells still queued wait for a machine being added.
            await membership.tick();
            const wanted = membership.wanted();
            if (wanted.length === 0) break;
            await Promise.all(wanted);
          }
        } finally {
          clearInterval(timer);
          await membership.stop();
        }
        for (let i = 0; i < workers.length; i++) await workers[i];
      } finally {
        opts.signal.removeEventListener('abort', onAbort);
      }
      for (const [target, queue] of queues)
        if (queue.pending > 0 && !opts.signal.aborted)
          errors.push(
            new InfrastructureError(
              `target '${target}': ${queue.pending} cells were not run: no machine of the target was left to run them (lost, or withdrawn from its pool)`,
              { target },
            ),
          );
    } catch (err) {
      errors.push(err);
    } finally {
      await Promise.all(placed.map((p) => this.stopMonitor(p)));
      run.finishedAt = new Date(this.clock.now()).toISOString();
      run.status = opts.signal.aborted
        ? 'cancelled'
        : errors.length > 0
          ? 'error'
          : run.failed > 0
            ? 'failed'
            : 'passed';
      await store.flush().catch((err: unknown) => logger.warn(`flushing metrics: ${String(err)}`));
      await store.finishRun(run);
    }
    if (errors.length > 0) throw errors[0];
    if (opts.signal.aborted) throw new CancelledError(`run ${run.id} cancelled`, { runId: run.id });
    return { run, results };
  }

  /**
   * Watches the targets' membership while the run executes: where a target with queued
   * cells has fewer usable machines than its provider's capacity, one more is acquired
   * (one at a time per target, a failed try repeated after JOIN_RETRY_MS); machines their
   * provider says left are withdrawn.
   */
  private membership(queues: ReadonlyMap<string, WorkQueue<Work>>, ctx: RunShared): Membership {
    const { logger } = this.deps;
    const joining = new Map<string, Promise<Placed | undefined>>();
    const retryAt = new Map<string, number>();
    const lastProblem = new Map<string, string>();
    const stopped = new AbortController();
    const signal = AbortSignal.any([ctx.signal, stopped.signal]);
    const specs = new Map(ctx.plan.cells.map((c) => [c.target.name, c.target]));
    let ticking: Promise<void> | undefined;

    const join = (target: string, replaces?: Machine): Promise<Placed | undefined> => {
      const inFlight = joining.get(target);
      if (inFlight) return inFlight;
      const spec = specs.get(target)!;
      const provider = this.deps.providers.get(spec.provider)!;
      const attempt = this.join(target, provider, ctx, signal, replaces).then(
        (p) => {
          lastProblem.delete(target);
          return p;
        },
        (err: unknown) => {
          retryAt.set(target, this.clock.now() + JOIN_RETRY_MS);
          const problem = String(err);
          const what = replaces ? `no replacement for ${replaces.id}` : 'could not add a machine';
          // The same answer every few seconds (a pool with every member leased) is a warning once.
          const message = `target '${target}': ${what}: ${problem}`;
          if (signal.aborted) logger.debug(message);
          else if (lastProblem.get(target) === problem) logger.debug(message);
          else logger.warn(message);
          lastProblem.set(target, problem);
          return undefined;
        },
      );
      joining.set(target, attempt);
      void attempt.finally(() => joining.delete(target));
      return attempt;
    };

    const once = (): void => {
      // Only machines that run (a joining one has no monitor yet) and are not gone already.
      for (const p of ctx.placed) if (p.monitor && !p.lost && !p.released) this.checkWithdrawn(p);
      for (const [target, queue] of queues) {
        if (queue.pending === 0 || joining.has(target) || signal.aborted) continue;
        if (this.clock.now() < (retryAt.get(target) ?? 0)) continue;
        const spec = specs.get(target)!;
        const capacity = this.deps.providers.get(spec.provider)?.capacity?.(spec);
        const usable = ctx.placed.filter((p) => p.target === target && !p.lost && !p.withdrawn).length;
        if (capacity !== undefined && capacity > usable) void join(target);
      }
    };

    return {
      tick: () =>
        (ticking ??= Promise.resolve()
          .then(once)
          .catch((err: unknown) => logger.warn(`checking the targets' machines: ${String(err)}`))
          .finally(() => (ticking = undefined))),
      join,
      wanted: () =>
        [...joining].filter(([target]) => (queues.get(target)?.pending ?? 0) > 0).map(([, p]) => p),
      stop: async () => {
        stopped.abort();
        await ticking;
        await Promise.all(joining.values());
      },
    };
  }

  /** Asks the machine's provider whether it left its pool; withdraws it if so. */
  private checkWithdrawn(p: Placed): void {
    const how = p.provider.withdrawn?.(p.machine);
    if (!how || p.withdrawn === how || p.withdrawn === 'now') return;
    p.withdrawn = how;
    p.draining.abort();
    if (how === 'now')
      p.stopping.abort(new CancelledError(`machine ${p.machine.id} was withdrawn from its pool`));
    this.deps.onEvent?.({ type: 'machine-withdrawn', target: p.target, machine: p.machine, how });
    this.deps.logger.info(
      how === 'now'
        ? `machine ${p.machine.id} left target '${p.target}': stopping what runs there, it runs again on another machine`
        : `machine ${p.machine.id} left target '${p.target}': it finishes its current cells and takes no other`,
    );
    if (p.workers === 0) p.released ??= this.releaseOne(p);
  }

  /**
   * Takes the target's cells one after the other until none is left or the machine is
   * lost or withdrawn.
   */
  private async worker(p: Placed, queue: WorkQueue<Work>, shared: RunShared): Promise<void> {
    const taking = AbortSignal.any([shared.signal, p.draining.signal]);
    for (;;) {
      if (p.lost || p.withdrawn) return;
      const work = await queue.take(taking);
      if (!work) return;
      if (p.lost || p.withdrawn) {
        queue.giveBack(work);
        return;
      }
      let next: Work | undefined;
      try {
        next = await this.runCell(work, p, shared);
      } catch (err) {
        queue.done();
        throw err;
      }
      if (next) queue.giveBack(next);
      else queue.done();
    }
  }

  /**
   * A cell's repetitions from `work.fromRep`, back to back, each recorded as soon as it
   * ends. Answers the work to give back when this machine broke or was withdrawn `now` and
   * another can take it.
   */
  private async runCell(work: Work, self: Placed, ctx: RunShared): Promise<Work | undefined> {
    const { store, logger, onEvent } = this.deps;
    const { cell } = work;
    // The run's signal, and the machine's own: withdrawn `now`, its repetitions stop.
    const signal = AbortSignal.any([ctx.signal, self.stopping.signal]);
    work.startedAt ??= this.clock.now();
    for (let rep = work.fromRep; rep <= work.planned && !ctx.signal.aborted; rep++) {
      if (self.stopping.signal.aborted) return { ...work, fromRep: rep };
      onEvent?.({ type: 'repetition-started', cell, repetition: rep });
      const result = await runRepetition(
        {
          runId: ctx.run.id,
          session: this.session,
          machine: self.machine,
          image: self.images.get(cell.image)!,
          monitor: self.monitor!,
          artifacts: this.deps.artifacts,
          clock: this.clock,
          logger,
          signal,
        },
        cell,
        rep,
        rep <= cell.warmup,
      );
      await store.recordResult(result);
      if (self.stopping.signal.aborted && result.status === 'failed' && !ctx.signal.aborted) {
        // Stopped because its machine left the pool: not a failure of the run; it runs again.
        onEvent?.({
          type: 'repetition-retried',
          cell,
          repetition: rep,
          from: self.machine.id,
          reason: 'its machine was withdrawn from its pool',
        });
        logger.info(
          `repetition ${rep} of ${cell.id} was stopped on ${self.machine.id} (withdrawn from its pool); it runs again on another machine`,
        );
        return { ...work, fromRep: rep };
      }
      if (result.failureClass === 'INFRA' && !ctx.signal.aborted && (await this.machineBroke(self, result))) {
        const retry = work.infraRetries < MAX_INFRA_RETRIES;
        const other =
          retry &&
          (ctx.placed.some((p) => p.target === self.target && !p.lost && !p.withdrawn) ||
            (await ctx.join(self.target, self.machine)) !== undefined);
        if (other) {
          onEvent?.({
            type: 'repetition-retried',
            cell,
            repetition: rep,
            from: self.machine.id,
            reason: result.failureReason ?? 'machine lost',
          });
          logger.warn(
            `repetition ${rep} of ${cell.id} failed on ${self.machine.id} (${result.failureReason}); retrying on another machine`,
          );
          return { ...work, fromRep: rep, infraRetries: work.infraRetries + 1 };
        }
      }
      ctx.results.push(result);
      if (result.status === 'passed') ctx.run.passed++;
      else ctx.run.failed++;
      onEvent?.({ type: 'repetition-finished', cell, result });
      if (!result.warmup) work.measured.push(result);
      if (
        rep === work.planned &&
        wantsAnotherRepetition(cell.adaptive, work.measured, this.clock.now() - work.startedAt)
      ) {
        work.planned++;
        ctx.run.repetitions++;
        onEvent?.({ type: 'repetitions-extended', cell, measured: work.measured.length + 1 });
      }
      if (self.lost || self.stopping.signal.aborted)
        return rep < work.planned ? { ...work, fromRep: rep + 1 } : undefined;
    }
    return undefined;
  }

  /**
   * Adds a machine to a running run: a lost machine's replacement (the next free pool
   * member, a new instance) or one more where the target's capacity grew. Acquires it,
   * makes the images present, starts its metrics and its workers, which take the target's
   * queued cells at once. A machine that cannot be prepared is released again.
   */
  private async join(
    target: string,
    provider: Provider,
    ctx: RunShared,
    signal: AbortSignal,
    replaces?: Machine,
  ): Promise<Placed> {
    const cells = ctx.plan.cells.filter((c) => c.target.name === target);
    const machine = await provider.acquire(cells[0]!.target, signal);
    const entry = placedOn(target, provider, machine);
    ctx.placed.push(entry);
    try {
      await this.prepareImages(entry, cells, signal);
      entry.monitor = this.monitorFor(machine, ctx.plan);
      await entry.monitor.start(ctx.run.id);
    } catch (err) {
      entry.lost = `not prepared: ${String(err)}`;
      entry.released ??= this.releaseOne(entry);
      throw err;
    }
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
   * After an INFRA failure: is the machine itself gone (its connection closed, its engine
   * not answering)? Then it takes no more work and is released now.
   */
  private async machineBroke(p: Placed, result: RepetitionResult): Promise<boolean> {
    if (p.lost) return true;
    const alive = await Promise.race([
      p.machine.docker.ping().then(
        () => true,
        () => false,
      ),
      new Promise<boolean>((r) => setTimeout(() => r(false), 10_000).unref()),
    ]);
    if (alive) return false;
    p.lost = result.failureReason ?? 'machine not answering';
    this.deps.onEvent?.({ type: 'machine-lost', target: p.target, machine: p.machine, reason: p.lost });
    this.deps.logger.warn(`machine ${p.machine.id} of target '${p.target}' is lost: ${p.lost}`);
    p.released = this.releaseOne(p);
    return true;
  }

  private monitorFor(machine: Machine, plan: Plan): Monitor {
    const intervalMs = plan.metricsIntervalMs;
    if (this.deps.monitor)
      return this.deps.monitor(machine, this.deps.store, {
        intervalMs,
        policy: plan.metrics,
        session: this.session,
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
  private stopMonitor(p: Placed): Promise<void> {
    return (p.monitorStopped ??= (p.monitor?.stop() ?? Promise.resolve()).catch((err: unknown) =>
      this.deps.logger.warn(`stopping metrics on ${p.machine.id}: ${String(err)}`),
    ));
  }

  private async releaseAll(placed: Placed[]): Promise<void> {
    await Promise.all(placed.map((p) => (p.released ??= this.releaseOne(p))));
  }

  private async releaseOne(p: Placed): Promise<void> {
    // A fresh signal: teardown must finish even when the run was cancelled.
    const signal = AbortSignal.timeout(15 * 60_000);
    if (p.lost)
      await Promise.race([
        p.monitor?.stop().catch(() => {}),
        new Promise((r) => setTimeout(r, 5_000).unref()),
      ]);
    // Released before the run ends: what its metrics hold is handed over first.
    else if (p.withdrawn) await this.stopMonitor(p);
    try {
      await p.provider.release(p.machine, signal);
    } catch (err) {
      this.deps.logger.error(`releasing machine ${p.machine.id} failed: ${String(err)}; run 'benchyard gc'`, {
        target: p.target,
      });
    }
  }
}

function placedOn(target: string, provider: Provider, machine: Machine): Placed {
  return {
    target,
    provider,
    machine,
    images: new Map(),
    draining: new AbortController(),
    stopping: new AbortController(),
    workers: 0,
  };
}

function groupByTarget(cells: readonly MatrixCell[]): Map<string, MatrixCell[]> {
  const byTarget = new Map<string, MatrixCell[]>();
  for (const c of cells) byTarget.set(c.target.name, [...(byTarget.get(c.target.name) ?? []), c]);
  return byTarget;
}

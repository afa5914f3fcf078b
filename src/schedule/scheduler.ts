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
 *
 * This file is the run and its workers; the machines of a run are `fleet.ts`, the watch
 * on the targets' membership `membership.ts`, one repetition `repetition.ts`.
 */
import { randomBytes } from 'node:crypto';
import PQueue from 'p-queue';
import {
  CancelledError,
  InfrastructureError,
  systemClock,
  plannedRepetitions,
  repetitionKind,
  type ArtifactStore,
  type Clock,
  type Machine,
  type MatrixCell,
  type RepetitionResult,
  type RunOrder,
  type RunRecord,
} from '../core/index.js';
import type { Plan } from '../plan/index.js';
import { wantsAnotherRepetition } from './adaptive.js';
import { runRepetition } from './repetition.js';
import { IDLE, WorkQueue } from './work-queue.js';
import { Fleet, groupByTarget, type FleetDeps } from './fleet.js';
import type { FleetMachine } from './fleet-machine.js';
import { watchMembership } from './membership.js';
import { runRecord } from './run-record.js';
import { orderWork } from './order.js';

export type { RunEvent } from './events.js';

export interface SchedulerDeps extends Omit<FleetDeps, 'clock' | 'session'> {
  artifacts: ArtifactStore;
  /** Label for everything this controller creates. @default a random id per scheduler */
  session?: string;
  clock?: Clock;
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

/** A cell's progress, shared by its pieces of work (one per repetition unless `blocked`). */
interface CellRun {
  cell: MatrixCell;
  /** Repetitions planned (warmups, controls and measured; grows when adaptive extends it). */
  planned: number;
  measured: RepetitionResult[];
  startedAt?: number;
  infraRetries: number;
}

/**
 * Repetitions `fromRep`..`toRep` of a cell; without `toRep`, up to the cell's planned
 * (a blocked cell: extended in place). A retried piece resumes where its machine broke.
 */
interface Work {
  run: CellRun;
  fromRep: number;
  toRep?: number;
}

/** What every worker of a run shares. */
interface RunShared {
  /** The run's machines (grows when one joins). */
  fleet: Fleet;
  run: RunRecord;
  results: RepetitionResult[];
  plan: Plan;
  signal: AbortSignal;
  /** Starts the workers of a machine that joins the run. */
  spawn: (p: FleetMachine) => void;
  /**
   * Adds a machine to the target (or waits for the one being added); `undefined` when the
   * provider has none to give.
   */
  join: (target: string, replaces?: Machine) => Promise<FleetMachine | undefined>;
  /**
   * `concurrency` cells at once per Docker engine: machines that share one engine
   * (`shareEngine`) share its slots, so they run as one machine.
   */
  slots: Map<string, PQueue>;
}

/** A machine above its target's minimum with no cell to run for this long is released. */
const DEFAULT_IDLE_RELEASE_MS = 60_000;

/** A repetition that failed because its machine broke is retried elsewhere this many times. */
const MAX_INFRA_RETRIES = 2;

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

  async run(
    plan: Plan,
    opts: { runId: string; signal: AbortSignal; tags?: readonly string[] },
  ): Promise<RunOutcome> {
    const fleet = new Fleet({ ...this.deps, clock: this.clock, session: this.session });
    try {
      await fleet.place(plan, opts.signal);
      return await this.execute(plan, fleet, opts);
    } catch (err) {
      // Whatever an interrupted acquire or build threw, the run was cancelled.
      if (opts.signal.aborted && !(err instanceof CancelledError))
        throw new CancelledError(`run ${opts.runId} cancelled`, { runId: opts.runId });
      throw err;
    } finally {
      await fleet.releaseAll();
    }
  }

  private async execute(
    plan: Plan,
    fleet: Fleet,
    opts: { runId: string; signal: AbortSignal; tags?: readonly string[] },
  ): Promise<RunOutcome> {
    const { store, logger } = this.deps;
    const run = runRecord(plan, { runId: opts.runId, at: this.clock.now(), tags: opts.tags });
    await store.startRun(run, plan.cells);
    for (const p of fleet.placed) if (p.active) await fleet.recordMachine(p, run.id);
    this.deps.onEvent?.({ type: 'run-started', run });
    const results: RepetitionResult[] = [];
    const errors: unknown[] = [];
    try {
      for (const p of fleet.placed) {
        if (!p.active) continue;
        await fleet.startMonitor(p, plan, run.id);
      }
      const queues = new Map(
        [...groupByTarget(plan.cells)].map(([target, cells]) => [
          target,
          new WorkQueue<Work>(
            ordered(cells, plan.order ?? 'blocked', `${run.id}/${target}`),
            this.clock,
            (w) => w.run,
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
        fleet,
        run,
        results,
        plan,
        signal: opts.signal,
        spawn: (p: FleetMachine) => {
          for (let i = 0; i < plan.concurrency; i++) {
            p.workerStarted();
            workers.push(
              this.worker(p, queues.get(p.target)!, shared)
                .catch((err: unknown) => {
                  errors.push(err);
                  queues.forEach((q) => q.close());
                })
                // Its target has nothing left for it (done, or it left its pool, or it
                // stayed idle): it goes back now, not when the run ends.
                .finally(() => p.workerEnded()),
            );
          }
        },
        join: (target, replaces) => membership.join(target, replaces),
        slots: new Map(),
      };
      const membership = watchMembership(fleet, queues, {
        plan,
        runId: run.id,
        signal: opts.signal,
        spawn: shared.spawn,
        providers: this.deps.providers,
        clock: this.clock,
        logger,
      });
      try {
        for (const p of fleet.placed) if (p.active) shared.spawn(p);
        const ticking = new AbortController();
        const ticks = this.tickEvery(this.deps.membershipTickMs ?? 1000, ticking.signal, () =>
          membership.tick(),
        );
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
          ticking.abort();
          await ticks;
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
              `target '${target}': ${queue.pendingGroups} cells were not run: no machine of the target was left to run them (lost, or withdrawn from its pool)`,
              { target },
            ),
          );
    } catch (err) {
      errors.push(err);
    } finally {
      await Promise.all(fleet.placed.map((p) => fleet.stopMonitor(p)));
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

  /** Calls `tick` every `ms` on the run's clock until `signal` aborts. */
  private async tickEvery(ms: number, signal: AbortSignal, tick: () => Promise<void>): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.clock.sleep(ms, signal);
      } catch {
        return;
      }
      await tick();
    }
  }

  /**
   * Takes the target's cells one after the other until none is left or the machine is
   * lost or withdrawn.
   */
  private async worker(p: FleetMachine, queue: WorkQueue<Work>, shared: RunShared): Promise<void> {
    const taking = AbortSignal.any([shared.signal, p.takingSignal]);
    const spec = shared.plan.cells.find((c) => c.target.name === p.target)?.target;
    const idleMs = spec?.idleReleaseMs ?? DEFAULT_IDLE_RELEASE_MS;
    for (;;) {
      if (!p.active) return;
      const work = await queue.take(taking, idleMs);
      if (work === IDLE) {
        if (shared.fleet.retireIfIdle(p)) return;
        continue;
      }
      if (!work) return;
      if (!p.active) {
        queue.giveBack(work);
        return;
      }
      let next: Work | undefined;
      p.busy++;
      try {
        next = await engineSlots(shared, p).add(() => this.runCell(work, p, shared, (w) => queue.add(w)));
      } catch (err) {
        queue.done();
        throw err;
      } finally {
        p.busy--;
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
  private async runCell(
    work: Work,
    self: FleetMachine,
    ctx: RunShared,
    extend: (more: Work) => void,
  ): Promise<Work | undefined> {
    const { store, logger, onEvent } = this.deps;
    const cellRun = work.run;
    const { cell } = cellRun;
    const last = () => work.toRep ?? cellRun.planned;
    // The run's signal, and the machine's own: withdrawn `now`, its repetitions stop.
    const signal = AbortSignal.any([ctx.signal, self.runningSignal]);
    cellRun.startedAt ??= this.clock.now();
    for (let rep = work.fromRep; rep <= last() && !ctx.signal.aborted; rep++) {
      if (self.runningSignal.aborted) return { ...work, fromRep: rep };
      onEvent?.({ type: 'repetition-started', cell, repetition: rep });
      const result = await runRepetition(
        {
          runId: ctx.run.id,
          session: this.session,
          machine: self.machine,
          ...(self.fingerprint ? { fingerprintHash: self.fingerprint.hash } : {}),
          ...(self.fingerprint?.fp.gpus ? { gpus: self.fingerprint.fp.gpus } : {}),
          image: self.images.get(cell.image)!,
          monitor: self.monitor!,
          onContainerStarted: () => ctx.fleet.reached(self, 'firstRepetition', ctx.run.id),
          artifacts: this.deps.artifacts,
          clock: this.clock,
          logger,
          signal,
          ...(ctx.plan.health ? { health: ctx.plan.health } : {}),
        },
        cell,
        rep,
        repetitionKind(cell, rep),
      );
      await store.recordResult(result);
      if (self.runningSignal.aborted && result.status === 'failed' && !ctx.signal.aborted) {
        // Stopped because its machine left the pool (or stopped being ours): not a failure of
        // the run; it runs again.
        const why = self.lostReason !== undefined ? `lost: ${self.lostReason}` : 'withdrawn from its pool';
        onEvent?.({
          type: 'repetition-retried',
          cell,
          repetition: rep,
          from: self.machine.id,
          reason: `its machine was ${why}`,
        });
        logger.info(
          `repetition ${rep} of ${cell.id} was stopped on ${self.machine.id} (${why}); it runs again on another machine`,
        );
        return { ...work, fromRep: rep };
      }
      if (
        result.failureClass === 'INFRA' &&
        !ctx.signal.aborted &&
        (await ctx.fleet.machineBroke(self, result))
      ) {
        const retry = cellRun.infraRetries < MAX_INFRA_RETRIES;
        const other =
          retry &&
          (ctx.fleet.active(self.target).length > 0 ||
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
          cellRun.infraRetries++;
          return { ...work, fromRep: rep };
        }
      }
      ctx.results.push(result);
      if (result.status === 'passed') ctx.run.passed++;
      else ctx.run.failed++;
      onEvent?.({ type: 'repetition-finished', cell, result });
      if (!result.warmup && !result.control) cellRun.measured.push(result);
      if (
        rep === cellRun.planned &&
        wantsAnotherRepetition(cell.adaptive, cellRun.measured, this.clock.now() - cellRun.startedAt)
      ) {
        cellRun.planned++;
        ctx.run.repetitions++;
        onEvent?.({ type: 'repetitions-extended', cell, measured: cellRun.measured.length + 1 });
        // A piece of one repetition: the extra one joins the end of the target's order.
        if (work.toRep !== undefined)
          extend({ run: cellRun, fromRep: cellRun.planned, toRep: cellRun.planned });
      }
      if (self.lostReason !== undefined || self.runningSignal.aborted)
        return rep < last() ? { ...work, fromRep: rep + 1 } : undefined;
    }
    return undefined;
  }
}

/** A target's cells as pieces of work in the run's order (`order.ts`), seeded by run and target. */
function ordered(cells: readonly MatrixCell[], order: RunOrder, seed: string): Work[] {
  const runs: CellRun[] = cells.map((cell) => ({
    cell,
    planned: plannedRepetitions(cell),
    measured: [],
    infraRetries: 0,
  }));
  return orderWork(
    runs.map((r) => r.planned),
    order,
    seed,
  ).map((s) =>
    order === 'blocked'
      ? { run: runs[s.cell]!, fromRep: 1 }
      : { run: runs[s.cell]!, fromRep: s.from, toRep: s.to },
  );
}

/** The slots of the machine's engine (one set per engine, shared by its machines). */
function engineSlots(shared: RunShared, p: FleetMachine): PQueue {
  const key = p.machine.engineId ?? p.machine.id;
  let slots = shared.slots.get(key);
  if (!slots) {
    slots = new PQueue({ concurrency: shared.plan.concurrency });
    shared.slots.set(key, slots);
  }
  return slots;
}

/**
 * Runs a plan: acquires the machines of every target (one, or as many as the target's
 * provider offers: ssh hosts, `count` cloud instances), makes every image present on them
 * before anything starts, then each machine takes the target's cells from a shared queue
 * (`concurrency` at once per machine, a cell's repetitions back to back). A repetition
 * that fails because its machine broke (INFRA) is retried on another machine of the
 * target. Machines are released whatever happens.
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
}

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
              const entry: Placed = { target, provider, machine, images: new Map() };
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
      // Each machine runs `concurrency` workers; a replacement machine adds its own while
      // the others run, so the list grows as it is awaited.
      const workers: Promise<void>[] = [];
      const spawn = (p: Placed) => {
        for (let i = 0; i < plan.concurrency; i++)
          workers.push(
            this.worker(p, queues.get(p.target)!, {
              placed,
              run,
              results,
              plan,
              signal: opts.signal,
              spawn,
            }).catch((err: unknown) => {
              errors.push(err);
              queues.forEach((q) => q.close());
            }),
          );
      };
      try {
        for (const p of placed) if (!p.lost) spawn(p);
        for (let i = 0; i < workers.length; i++) await workers[i];
      } finally {
        opts.signal.removeEventListener('abort', onAbort);
      }
    } catch (err) {
      errors.push(err);
    } finally {
      await Promise.all(
        placed.map((p) =>
          p.monitor
            ?.stop()
            .catch((err: unknown) => logger.warn(`stopping metrics on ${p.machine.id}: ${String(err)}`)),
        ),
      );
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

  /** Takes the target's cells one after the other until none is left or the machine is lost. */
  private async worker(p: Placed, queue: WorkQueue<Work>, shared: RunShared): Promise<void> {
    for (;;) {
      if (p.lost) return;
      const work = await queue.take(shared.signal);
      if (!work) return;
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
   * ends. Answers the work to give back when this machine broke and another can take it.
   */
  private async runCell(work: Work, self: Placed, ctx: RunShared): Promise<Work | undefined> {
    const { store, logger, onEvent } = this.deps;
    const { cell } = work;
    work.startedAt ??= this.clock.now();
    for (let rep = work.fromRep; rep <= work.planned && !ctx.signal.aborted; rep++) {
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
          signal: ctx.signal,
        },
        cell,
        rep,
        rep <= cell.warmup,
      );
      await store.recordResult(result);
      if (result.failureClass === 'INFRA' && !ctx.signal.aborted && (await this.machineBroke(self, result))) {
        const retry = work.infraRetries < MAX_INFRA_RETRIES;
        const other =
          retry &&
          (ctx.placed.some((p) => p.target === self.target && !p.lost) || (await this.replace(self, ctx)));
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
      if (self.lost) return rep < work.planned ? { ...work, fromRep: rep + 1 } : undefined;
    }
    return undefined;
  }

  /**
   * A lost machine whose target has no other: ask its provider for another (the next free
   * pool member, a new instance), prepare it and let it take the target's work.
   */
  private async replace(lost: Placed, ctx: RunShared): Promise<boolean> {
    const cells = ctx.plan.cells.filter((c) => c.target.name === lost.target);
    const spec = cells[0]!.target;
    try {
      const machine = await lost.provider.acquire(spec, ctx.signal);
      const entry: Placed = { target: lost.target, provider: lost.provider, machine, images: new Map() };
      ctx.placed.push(entry);
      try {
        await this.prepareImages(entry, cells, ctx.signal);
        entry.monitor = this.monitorFor(machine, ctx.plan);
        await entry.monitor.start(ctx.run.id);
      } catch (err) {
        entry.lost = `not prepared: ${String(err)}`;
        throw err;
      }
      this.deps.onEvent?.({ type: 'machine-ready', target: lost.target, machine });
      ctx.spawn(entry);
      return true;
    } catch (err) {
      this.deps.logger.warn(
        `no replacement for ${lost.machine.id} in target '${lost.target}': ${String(err)}`,
      );
      return false;
    }
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
    try {
      await p.provider.release(p.machine, signal);
    } catch (err) {
      this.deps.logger.error(`releasing machine ${p.machine.id} failed: ${String(err)}; run 'benchyard gc'`, {
        target: p.target,
      });
    }
  }
}

function groupByTarget(cells: readonly MatrixCell[]): Map<string, MatrixCell[]> {
  const byTarget = new Map<string, MatrixCell[]>();
  for (const c of cells) byTarget.set(c.target.name, [...(byTarget.get(c.target.name) ?? []), c]);
  return byTarget;
}

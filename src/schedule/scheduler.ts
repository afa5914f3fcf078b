/**
 * Runs a plan: acquires one machine per target, checks every image is there before
 * anything starts, then runs cells through a p-queue per machine (`concurrency` cells at
 * once, a cell's repetitions back to back). Machines are released whatever happens.
 */
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
import { buildImage, inspectImage, type ImageInfo } from '../engine/index.js';
import { MachineMonitor, type Monitor } from '../metrics/index.js';
import type { Plan } from '../plan/index.js';
import { wantsAnotherRepetition } from './adaptive.js';
import { runRepetition } from './repetition.js';

export type RunEvent =
  | { type: 'run-started'; run: RunRecord }
  | { type: 'machine-ready'; target: string; machine: Machine }
  | { type: 'image-build'; target: string; image: string; context: string }
  | { type: 'repetition-started'; cell: MatrixCell; repetition: number }
  | { type: 'repetitions-extended'; cell: MatrixCell; measured: number }
  | { type: 'repetition-finished'; cell: MatrixCell; result: RepetitionResult };

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

interface Placed {
  target: string;
  provider: Provider;
  machine: Machine;
  images: Map<string, ImageInfo>;
  cells: MatrixCell[];
  monitor?: Monitor;
}

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
    } finally {
      await this.releaseAll(placed);
    }
  }

  /** Acquires a machine per target and checks its images; any failure stops the run before it starts. */
  private async place(plan: Plan, placed: Placed[], signal: AbortSignal): Promise<void> {
    const byTarget = new Map<string, MatrixCell[]>();
    for (const c of plan.cells) byTarget.set(c.target.name, [...(byTarget.get(c.target.name) ?? []), c]);
    // allSettled, not all: every acquire must have landed in `placed` before teardown runs.
    const settled = await Promise.allSettled(
      [...byTarget].map(async ([target, cells]) => {
        const spec = cells[0]!.target;
        const provider = this.deps.providers.get(spec.provider);
        if (!provider) throw new InfrastructureError(`no provider '${spec.provider}' for target '${target}'`);
        const machine = await provider.acquire(spec, signal);
        const entry: Placed = { target, provider, machine, images: new Map(), cells };
        placed.push(entry);
        for (const [ref, build] of new Map(cells.map((c) => [c.image, c.build]))) {
          if (build !== undefined) {
            this.deps.onEvent?.({ type: 'image-build', target, image: ref, context: build });
            await buildImage(machine.docker, build, ref, { logger: this.deps.logger, signal });
          }
          entry.images.set(ref, await inspectImage(machine.docker, ref, machine.id));
        }
        this.deps.onEvent?.({ type: 'machine-ready', target, machine });
      }),
    );
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
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
    let failure: unknown;
    try {
      for (const p of placed) {
        p.monitor = this.monitorFor(p.machine, plan);
        await p.monitor.start(run.id);
      }
      await Promise.all(
        placed.map(async (p) => {
          const queue = new PQueue({ concurrency: plan.concurrency });
          // Not add()'s `signal`: p-queue would reject a running task at once and let the run
          // finish while its container still runs. Queued cells are dropped; running ones end
          // on their own (the engine kills their containers) and are recorded as cancelled.
          const onAbort = () => queue.clear();
          opts.signal.addEventListener('abort', onAbort, { once: true });
          const errors: unknown[] = [];
          for (const cell of p.cells)
            void queue.add(async () => {
              try {
                await this.runCell(cell, { ...p, run, results, plan, signal: opts.signal });
              } catch (err) {
                errors.push(err);
                queue.clear();
              }
            });
          await queue.onIdle();
          opts.signal.removeEventListener('abort', onAbort);
          if (errors.length > 0) throw errors[0];
        }),
      );
    } catch (err) {
      failure = err;
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
        : failure
          ? 'error'
          : run.failed > 0
            ? 'failed'
            : 'passed';
      await store.flush().catch((err: unknown) => logger.warn(`flushing metrics: ${String(err)}`));
      await store.finishRun(run);
    }
    if (failure) throw failure;
    if (opts.signal.aborted) throw new CancelledError(`run ${run.id} cancelled`, { runId: run.id });
    return { run, results };
  }

  /** A cell's repetitions, back to back, each recorded as soon as it ends. */
  private async runCell(
    cell: MatrixCell,
    ctx: Placed & { run: RunRecord; results: RepetitionResult[]; plan: Plan; signal: AbortSignal },
  ): Promise<void> {
    const { store, logger, onEvent } = this.deps;
    const measured: RepetitionResult[] = [];
    const t0 = this.clock.now();
    let planned = cell.warmup + cell.repetitions;
    for (let rep = 1; rep <= planned && !ctx.signal.aborted; rep++) {
      onEvent?.({ type: 'repetition-started', cell, repetition: rep });
      const result = await runRepetition(
        {
          runId: ctx.run.id,
          session: this.session,
          machine: ctx.machine,
          image: ctx.images.get(cell.image)!,
          monitor: ctx.monitor!,
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
      ctx.results.push(result);
      if (result.status === 'passed') ctx.run.passed++;
      else ctx.run.failed++;
      onEvent?.({ type: 'repetition-finished', cell, result });
      if (!result.warmup) measured.push(result);
      if (rep === planned && wantsAnotherRepetition(cell.adaptive, measured, this.clock.now() - t0)) {
        planned++;
        ctx.run.repetitions++;
        onEvent?.({ type: 'repetitions-extended', cell, measured: measured.length + 1 });
      }
    }
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
    // A fresh signal: teardown must finish even when the run was cancelled.
    const signal = AbortSignal.timeout(120_000);
    await Promise.all(
      placed.map(async (p) => {
        try {
          await p.provider.release(p.machine, signal);
        } catch (err) {
          this.deps.logger.error(`releasing machine ${p.machine.id} failed: ${String(err)}`, {
            target: p.target,
          });
        }
      }),
    );
  }
}

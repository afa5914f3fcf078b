/**
 * The targets' membership while a run executes: where a target with queued cells has fewer
 * machines than its provider's maximum (a pool member was added, an elastic target can
 * grow, an instance is missing), machines join — as many as the waiting cells need, a
 * failed try repeated after JOIN_RETRY_MS; machines their provider says left their pool
 * are withdrawn.
 */
import type { Clock, Logger, Machine, Provider } from '../core/index.js';
import type { Plan } from '../plan/index.js';
import type { Fleet } from './fleet.js';
import type { FleetMachine } from './fleet-machine.js';
import type { QueueDepth } from './work-queue.js';

/** The membership of a run's targets, while it executes. */
export interface Membership {
  /** Adds machines where a target has room and cells wait; withdraws the machines that left. */
  tick(): Promise<void>;
  join: (target: string, replaces?: Machine) => Promise<FleetMachine | undefined>;
  /** Joins in flight for targets that still have queued cells. */
  wanted(): Promise<unknown>[];
  /** Stops the tick and the joins in flight; resolves once they have settled. */
  stop(): Promise<void>;
}

/** A target whose provider had no machine to add is asked again after this long. */
const JOIN_RETRY_MS = 5_000;

export interface MembershipContext {
  plan: Plan;
  runId: string;
  signal: AbortSignal;
  spawn: (p: FleetMachine) => void;
  providers: ReadonlyMap<string, Provider>;
  clock: Clock;
  logger: Logger;
}

/**
 * Watches the targets' membership while the run executes (see the top of this file).
 */
export function watchMembership(
  fleet: Fleet,
  queues: ReadonlyMap<string, QueueDepth>,
  ctx: MembershipContext,
): Membership {
  const { logger, providers, clock } = ctx;
  /** Joins in flight, per target. */
  const joining = new Map<string, Set<Promise<FleetMachine | undefined>>>();
  const retryAt = new Map<string, number>();
  const lastProblem = new Map<string, string>();
  const stopped = new AbortController();
  const signal = AbortSignal.any([ctx.signal, stopped.signal]);
  const specs = new Map(ctx.plan.cells.map((c) => [c.target.name, c.target]));
  let ticking: Promise<void> | undefined;
  const inFlight = (target: string) => joining.get(target) ?? new Set<Promise<FleetMachine | undefined>>();

  const start = (target: string, replaces?: Machine): Promise<FleetMachine | undefined> => {
    const spec = specs.get(target)!;
    const provider = providers.get(spec.provider)!;
    const attempt = fleet.join(target, provider, ctx, signal, replaces).then(
      (p) => {
        lastProblem.delete(target);
        return p;
      },
      (err: unknown) => {
        retryAt.set(target, clock.now() + JOIN_RETRY_MS);
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
    const set = inFlight(target);
    set.add(attempt);
    joining.set(target, set);
    void attempt.finally(() => set.delete(attempt));
    return attempt;
  };

  /** A replacement waits for a machine already being added to the target, if any. */
  const join = (target: string, replaces?: Machine): Promise<FleetMachine | undefined> =>
    [...inFlight(target)][0] ?? start(target, replaces);

  const once = (): void => {
    // Only machines that run (a joining one has no monitor yet) and are not gone already.
    for (const p of fleet.placed)
      if (p.monitor && (p.state === 'ready' || p.state === 'draining')) fleet.checkWithdrawn(p);
    for (const [target, queue] of queues) {
      if (queue.pending === 0 || signal.aborted) continue;
      if (clock.now() < (retryAt.get(target) ?? 0)) continue;
      const spec = specs.get(target)!;
      const provider = providers.get(spec.provider);
      if (!provider?.capacity) continue;
      const { max } = provider.capacity(spec);
      const adding = inFlight(target).size;
      // Enough machines for the cells waiting (each takes `concurrency`), up to the maximum.
      // Cells, not repetitions: an interleaved target queues one item per repetition.
      const needed = Math.ceil(queue.pendingGroups / ctx.plan.concurrency) - adding;
      const room = max - fleet.active(target).length - adding;
      for (let i = 0; i < Math.min(needed, room); i++) void start(target);
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
      [...joining]
        .filter(([target]) => (queues.get(target)?.pending ?? 0) > 0)
        .flatMap(([, set]) => [...set]),
    stop: async () => {
      stopped.abort();
      await ticking;
      await Promise.all([...joining.values()].flatMap((set) => [...set]));
    },
  };
}

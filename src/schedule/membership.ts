/**
 * The targets' membership while a run executes: where a target with queued cells has fewer
 * usable machines than its provider's capacity (a pool member was added, an instance is
 * missing), one more joins — one at a time per target, a failed try repeated after
 * JOIN_RETRY_MS; machines their provider says left their pool are withdrawn.
 */
import type { Clock, Logger, Machine, Provider } from '../core/index.js';
import type { Plan } from '../plan/index.js';
import type { Fleet, Placed } from './fleet.js';
import type { WorkQueue } from './work-queue.js';

/** The membership of a run's targets, while it executes. */
export interface Membership {
  /** Adds machines where a target's capacity grew; withdraws the machines that left. */
  tick(): Promise<void>;
  join: (target: string, replaces?: Machine) => Promise<Placed | undefined>;
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
  spawn: (p: Placed) => void;
  providers: ReadonlyMap<string, Provider>;
  clock: Clock;
  logger: Logger;
}

/**
 * Watches the targets' membership while the run executes: where a target with queued
 * cells has fewer usable machines than its provider's capacity, one more is acquired
 * (one at a time per target, a failed try repeated after JOIN_RETRY_MS); machines their
 * provider says left are withdrawn.
 */
export function watchMembership(
  fleet: Fleet,
  queues: ReadonlyMap<string, WorkQueue<unknown>>,
  ctx: MembershipContext,
): Membership {
  const { logger, providers, clock } = ctx;
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
    joining.set(target, attempt);
    void attempt.finally(() => joining.delete(target));
    return attempt;
  };

  const once = (): void => {
    // Only machines that run (a joining one has no monitor yet) and are not gone already.
    for (const p of fleet.placed) if (p.monitor && !p.lost && !p.released) fleet.checkWithdrawn(p);
    for (const [target, queue] of queues) {
      if (queue.pending === 0 || joining.has(target) || signal.aborted) continue;
      if (clock.now() < (retryAt.get(target) ?? 0)) continue;
      const spec = specs.get(target)!;
      const capacity = providers.get(spec.provider)?.capacity?.(spec);
      const usable = fleet.placed.filter((p) => p.target === target && !p.lost && !p.withdrawn).length;
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
    wanted: () => [...joining].filter(([target]) => (queues.get(target)?.pending ?? 0) > 0).map(([, p]) => p),
    stop: async () => {
      stopped.abort();
      await ticking;
      await Promise.all(joining.values());
    },
  };
}

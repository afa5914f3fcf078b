/**
 * One run of a plan, from the checks made before anything is acquired to the gate:
 * the shard's part, the baseline, the run id, the stores, placement, the scheduler, the
 * run's ledger entry, what the state folder lost, the comparison with the baseline.
 * Loading the matrix, wiring the adapters and saying what happened are the CLI's.
 *
 * Everything opened is closed on one path (`await using`), in the reverse order of
 * opening: progress, the run's ledger entry, the event hub, the providers, the stores.
 */
import type { Shard } from '../core/index.js';
import { EventHub, type Annotation, type WebhookConfig } from '../events/index.js';
import type { Plan, SkippedCell } from '../plan/index.js';
import { newRunId, Scheduler, type RunOutcome } from '../schedule/index.js';
import { resolveBaseline } from './baseline.js';
import { closing } from './closing.js';
import { gateRun, HISTORY_RUNS, type GateKind, type GateOutcome } from './run-gate.js';
import { place } from './placement.js';
import type { RunDeps, RunProviders, RunStores, StoredRuns } from './ports.js';
import { recordRunEntry } from './run-entry.js';
import { checkRunId, shardPart, type RunPlace } from './run-id.js';
import { recordFailedShard } from './shard-failure.js';
import { stateFailure } from './state-failure.js';

/** What to run, as plain data (the CLI's options, parsed). */
export interface RunRequest {
  /** The matrix's plan, every cell (the shard's part is taken here). */
  plan: Plan;
  /** The state folder as the user gave it: messages name it. */
  state: string;
  /** Elasticsearch the run also writes to: a run id taken there is refused too. */
  esUrl?: string;
  /** Store the run under this id. @default a new one */
  runId?: string;
  /** Run only this part of the matrix (with `runId`, shared by all parts). */
  shard?: Shard;
  tags: readonly string[];
  /** Gate against a stored run: its id, `latest-passing`, or a tag. */
  baseline?: string;
  /** Pool the newest K passing runs `baseline` names (a tag or `latest-passing`). @default 1 */
  baselineRuns?: number;
  /** `changepoint`: change points over the history `baseline` names. @default 'baseline' */
  gate?: GateKind;
  maxRegressionPct: number;
  /** The gate counts repetitions marked suspect (unhealthy hardware) too. @default false */
  includeSuspect?: boolean;
  /** Cloud machines switch themselves off this long after creation; the run's ledger entry expires then too. */
  maxLifetimeMs: number;
  /** false: a machine another controller holds fails the run instead of being waited for. */
  wait: boolean;
  /** The matrix's `events.webhooks`. */
  webhooks: readonly WebhookConfig[];
}

export type RunAnnotation = Annotation & { runId: string; cellId: string; repetition: number };

/** What a run that ended gives the CLI to say (a failed repetition is in `results`, not an error). */
export interface RunReport extends RunOutcome, GateOutcome {
  /** The plan that ran: the shard's part, without the skipped cells. */
  plan: Plan;
  /** Cells whose target cannot have what they require, with why. */
  skipped: SkippedCell[];
  /** What the event reactors said about containers (deaths, OOM kills). */
  annotations: RunAnnotation[];
}

/**
 * Runs the request; throws what ends a run early (bad input, the infrastructure, a
 * cancel, the state folder failing), each as one error.
 */
export async function executeRun(request: RunRequest, deps: RunDeps): Promise<RunReport> {
  const { logger } = deps;
  const { plan: planned, notices } = shardPart(request.plan, request.shard);
  for (const n of notices) deps.notice(n);
  const history = request.gate === 'changepoint';
  const baseline =
    request.baseline === undefined
      ? undefined
      : await reading(deps.history.state(), (runs) =>
          resolveBaseline(runs, {
            ref: request.baseline!,
            runs: history ? HISTORY_RUNS : request.baselineRuns,
            history,
            matrixName: planned.matrixName,
            state: request.state,
            tags: request.tags,
          }),
        );
  if (request.runId !== undefined)
    await checkRunId(placesOf(request, deps), request.runId, request.shard, planned.matrixName);

  const logged = (err: unknown) => logger.error(String(err));
  const stores = await deps.openStores();
  await using storesOpen = closing(() => stores.close(), logged);
  const wired = await deps.openProviders();
  await using _providers = closing(() => wired.close(), logged);
  const runId = request.runId ?? newRunId(deps.clock.now());
  let started = false;
  let ran: Omit<RunReport, keyof GateOutcome>;
  try {
    ran = await placeAndRun(planned, runId, request, deps, stores, wired, () => (started = true));
  } catch (err) {
    if (!started)
      await recordFailedShard(stores.store, planned, runId, deps.clock.now(), request.tags).catch(logged);
    throw stateFailure(stores.health, err, runId, request.state, logger) ?? err;
  }
  // Samples or events lost after the last result: the run's record is incomplete.
  const lost = stateFailure(stores.health, undefined, runId, request.state, logger);
  if (lost) throw lost;
  // A secondary store that failed on the way fails the run here (exit 3), its results complete.
  await storesOpen.close();
  if (baseline === undefined) return ran;
  const gated = await reading(deps.history.state(), (runs) =>
    gateRun(
      baseline,
      runs,
      request.gate ?? 'baseline',
      ran,
      request.maxRegressionPct,
      request.includeSuspect ?? false,
    ),
  );
  return { ...ran, ...gated };
}

/** Placement, then the run on the machines, with the event hub following them. */
async function placeAndRun(
  planned: Plan,
  runId: string,
  request: RunRequest,
  deps: RunDeps,
  stores: RunStores,
  wired: RunProviders,
  onStarted: () => void,
): Promise<Omit<RunReport, keyof GateOutcome>> {
  const { logger } = deps;
  const { plan, skipped } = await place(planned, wired.providers, logger, deps.signal);
  // Every container event of the session is recorded; reactors classify deaths and OOM
  // kills, webhooks hear about them.
  const annotations: RunAnnotation[] = [];
  const hub = new EventHub({
    session: wired.session,
    logger,
    webhooks: request.webhooks,
    sinks: stores.eventSinks,
    annotations: {
      onAnnotation: (runId, cellId, repetition, a) => {
        annotations.push({ ...a, runId, cellId, repetition });
        logger.info(`${cellId} #${repetition} on ${a.machineId}: ${a.message}`);
      },
    },
  });
  await using hubOpen = closing(
    () => hub.close(),
    (err) => logger.error(String(err)),
  );
  const outcome = await schedule(plan, runId, request, deps, stores, wired, hub, onStarted);
  await hubOpen.close();
  return { ...outcome, plan, skipped, annotations };
}

/** The scheduler's run, with the run's ledger entry and the progress around it. */
async function schedule(
  plan: Plan,
  runId: string,
  request: RunRequest,
  deps: RunDeps,
  stores: RunStores,
  wired: RunProviders,
  hub: EventHub,
  onStarted: () => void,
): Promise<RunOutcome> {
  using _entry = recordRunEntry({
    ledger: wired.ledger,
    runId,
    shard: plan.shard,
    expiresAt: new Date(deps.clock.now() + request.maxLifetimeMs),
    health: stores.health,
    logger: deps.logger,
  });
  const progress = deps.progress(plan.repetitions);
  using _progress = { [Symbol.dispose]: () => progress.stop() };
  const runner = (deps.planRunner ?? ((d) => new Scheduler(d)))({
    providers: wired.providers,
    store: stores.store,
    artifacts: stores.artifacts,
    session: wired.session,
    wait: request.wait,
    clock: deps.clock,
    progress: (line) => deps.notice(line),
    machineWatch: hub,
    logger: deps.logger,
    onEvent: (e) => {
      if (e.type === 'run-started') onStarted();
      progress.onEvent(e);
    },
    ...deps.scheduling,
  });
  return await runner.run(plan, { runId, tags: request.tags, signal: deps.signal });
}

/** The state folder's store, then Elasticsearch: where a run id may be taken. */
function placesOf(request: RunRequest, deps: RunDeps): RunPlace[] {
  const { history } = deps;
  const places: RunPlace[] = [{ where: `'${request.state}'`, open: () => history.state() }];
  const url = request.esUrl;
  if (url !== undefined && history.elasticsearch)
    places.push({ where: url, open: () => history.elasticsearch!(url) });
  return places;
}

/** Uses stored runs (undefined: none stored there) and closes them. */
async function reading<T>(
  runs: StoredRuns | undefined,
  use: (runs: StoredRuns | undefined) => Promise<T>,
): Promise<T> {
  try {
    return await use(runs);
  } finally {
    await runs?.close();
  }
}

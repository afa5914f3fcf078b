/** Runs one repetition of one cell on one machine and turns what happened into a result. */
import {
  InfrastructureError,
  LABELS,
  ownerLabels,
  errorMessage,
  type Clock,
  type HealthPolicy,
  type Logger,
  type Machine,
  type MatrixCell,
  type ArtifactStore,
  type RepetitionKind,
  type RepetitionResult,
  type StoredArtifact,
} from '../core/index.js';
import {
  runContainer,
  PARSE_DEADLINE_MS,
  parseScores,
  tail,
  type ContainerOutcome,
  type ImageInfo,
  type MachineGpu,
} from '../engine/index.js';
import { AppLineFeed, type ContainerWatch, type Monitor } from '../metrics/index.js';
import { beginHealth, judged } from './repetition-health.js';

export interface RepetitionContext {
  runId: string;
  session: string;
  machine: Machine;
  /** The machine's hardware fingerprint hash, recorded with every result (as `fingerprint`); absent: none. */
  fingerprintHash?: string;
  /** The machine's GPUs as its fingerprint knows them (a GPU `model`/`pci` requirement selects among them). */
  gpus?: readonly MachineGpu[];
  image: ImageInfo;
  /** The machine's metrics: watches this repetition's container. */
  monitor: Monitor;
  /** Told once its container has started (the machine's provisioning timeline ends at the first). */
  onContainerStarted?: () => void;
  artifacts: ArtifactStore;
  clock: Clock;
  logger: Logger;
  signal: AbortSignal;
  /** When the repetition counts as run on unhealthy hardware; absent: the defaults. */
  health?: HealthPolicy;
}

/** Containers left behind by a crash are swept after this long past their timeout. */
const EXPIRY_GRACE_MS = 3_600_000;

export async function runRepetition(
  ctx: RepetitionContext,
  cell: MatrixCell,
  repetition: number,
  kind: RepetitionKind = 'measured',
): Promise<RepetitionResult> {
  // A control repetition runs with the machine's sampling off and its container unwatched.
  const resumeSampling = kind === 'control' ? await quiesce(ctx, cell, repetition) : undefined;
  // The machine's health before, judged with the samples between against its health after.
  const span = await beginHealth(ctx.monitor, ctx.health, ctx.logger);
  try {
    return await judged(await run(ctx, cell, repetition, kind), span, ctx.health, ctx.logger);
  } finally {
    resumeSampling?.();
    void span?.end().catch(() => undefined);
  }
}

async function quiesce(ctx: RepetitionContext, cell: MatrixCell, repetition: number) {
  const resume = await ctx.monitor.quiesce?.();
  if (!resume)
    ctx.logger.warn(
      `control repetition ${repetition} of ${cell.id} on ${ctx.machine.id}: sampling could not be switched off (another container is being measured there, or its monitor cannot pause); only its own container goes unwatched`,
    );
  return resume;
}

async function run(
  ctx: RepetitionContext,
  cell: MatrixCell,
  repetition: number,
  kind: RepetitionKind,
): Promise<RepetitionResult> {
  const { machine, clock } = ctx;
  const t0 = clock.now();
  let watch: ContainerWatch | undefined;
  // `@benchyard` lines reach the monitor in batches, up to a cap per repetition.
  const feed = new AppLineFeed((lines) => watch?.lines(lines));
  const at = { runId: ctx.runId, cellId: cell.id, repetition };
  const base = {
    runId: ctx.runId,
    cellId: cell.id,
    repetition,
    warmup: kind === 'warmup',
    ...(kind === 'control' ? { control: true } : {}),
    benchmark: cell.benchmark,
    benchmarkVersion: cell.benchmarkVersion,
    params: cell.params,
    target: cell.target.name,
    provider: machine.provider,
    machineId: machine.id,
    instanceType: machine.instanceType,
    ...(machine.region ? { region: machine.region } : {}),
    ...(machine.zone ? { zone: machine.zone } : {}),
    ...(ctx.fingerprintHash ? { fingerprint: ctx.fingerprintHash } : {}),
    ...priceOf(cell, machine),
    image: cell.image,
    imageDigest: ctx.image.digest,
  };
  let outcome: ContainerOutcome;
  try {
    outcome = await runContainer(
      machine.engine,
      {
        name: `benchyard-${ctx.runId}-${cell.id}-${repetition}`,
        image: ctx.image.id,
        ...(ctx.image.command ? { imageCommand: ctx.image.command } : {}),
        argv: cell.argv,
        env: cell.env,
        collect: cell.scores.map((sc) => sc.from).filter((f) => f.startsWith('/')),
        artifacts: cell.artifacts,
        ...(cell.container ? { policy: cell.container } : {}),
        network: cell.network,
        access: cell.requires,
        ...(ctx.gpus ? { gpus: ctx.gpus } : {}),
        ...(machine.ioAccountingDevices ? { ioAccountingDevices: machine.ioAccountingDevices } : {}),
        ...(cell.inputs !== undefined ? { readOnlyMounts: { [cell.inputs]: '/in' } } : {}),
        timeoutMs: cell.timeoutMs,
        labels: {
          ...ownerLabels(ctx.session, machine.id),
          [LABELS.run]: ctx.runId,
          [LABELS.cell]: cell.id,
          [LABELS.repetition]: String(repetition),
          [LABELS.benchmark]: cell.benchmark,
          [LABELS.expiresAt]: new Date(t0 + cell.timeoutMs + EXPIRY_GRACE_MS).toISOString(),
        },
      },
      {
        signal: ctx.signal,
        onStarted: (container) => {
          ctx.onContainerStarted?.();
          if (kind !== 'control')
            watch = ctx.monitor.watch({ runId: ctx.runId, cellId: cell.id, repetition }, container);
        },
        onStdoutLine: (line) => feed.line(line),
        saveArtifact: (path, data, info) => ctx.artifacts.save(at, path, data, info),
      },
      { logger: ctx.logger, clock },
    );
  } catch (err) {
    feed.flush();
    await finishWatch(watch, ctx.logger);
    if (!(err instanceof InfrastructureError)) throw err;
    const now = new Date(clock.now()).toISOString();
    return {
      ...base,
      status: 'failed',
      failureClass: 'INFRA',
      failureReason: errorMessage(err),
      scores: [],
      startedAt: new Date(t0).toISOString(),
      finishedAt: now,
      durationMs: clock.now() - t0,
      metrics: { samples: 0 },
      artifacts: [],
    };
  }
  feed.flush();
  const summary = (await finishWatch(watch, ctx.logger)) ?? { samples: 0 };
  const metrics = feed.dropped > 0 ? { ...summary, appLinesDropped: feed.dropped } : summary;
  const where = `repetition ${repetition} of ${cell.id} on ${machine.id}`;
  if (feed.dropped > 0)
    ctx.logger.warn(
      `${where}: ${feed.dropped} @benchyard lines past the cap of ${feed.kept} per repetition were dropped (not stored as samples)`,
    );
  for (const note of outcome.artifactNotes) ctx.logger.warn(`${where}: ${note}`);
  const artifacts: StoredArtifact[] = outcome.artifacts;
  const timing = {
    containerId: outcome.containerId,
    startedAt: new Date(outcome.startedAt).toISOString(),
    finishedAt: new Date(outcome.finishedAt).toISOString(),
    durationMs: outcome.finishedAt - outcome.startedAt,
    metrics,
    artifacts,
    ...(outcome.exitCode !== undefined ? { exitCode: outcome.exitCode } : {}),
  };
  const failed = (
    failureClass: RepetitionResult['failureClass'],
    failureReason: string,
  ): RepetitionResult => ({
    ...base,
    ...timing,
    status: 'failed',
    failureClass,
    failureReason,
    scores: [],
  });
  if (outcome.cancelled) return failed('CANCELLED', 'cancelled while running');
  if (outcome.timedOut)
    return failed('TIMEOUT', `exceeded its timeout of ${cell.timeoutMs / 1000}s and was killed`);
  if (outcome.exitCode !== 0) {
    return failed(
      'BENCHMARK_FAILED',
      `exited with code ${outcome.exitCode}${outcome.oomKilled ? ' (killed by the OOM killer: its memory limit was reached)' : ''}; output ends with: ${tail(outcome.stderr || outcome.stdout)}`,
    );
  }
  const files = new Map([...outcome.files].map(([path, f]) => [path, f.data.toString('utf8')]));
  // Parsing gets what is left of the benchmark's timeout, within 1 s to PARSE_DEADLINE_MS.
  const left = cell.timeoutMs - (clock.now() - t0);
  const parsed = await parseScores(
    cell.scores,
    { stdout: outcome.stdout, stderr: outcome.stderr, files },
    { deadlineMs: Math.min(PARSE_DEADLINE_MS, Math.max(1000, left)), signal: ctx.signal },
  );
  if (!parsed.ok)
    return ctx.signal.aborted
      ? failed('CANCELLED', 'cancelled while reading its scores')
      : failed('PARSE_FAILED', parsed.reason);
  return { ...base, ...timing, status: 'passed', scores: parsed.scores };
}

/**
 * The repetition's metrics summary. Losing it (the agent's machine went away) loses the
 * summary only: the samples already sent are stored, and the result still counts.
 */
async function finishWatch(watch: ContainerWatch | undefined, logger: Logger) {
  try {
    return await watch?.finish();
  } catch (err) {
    logger.warn(`metrics of the repetition are incomplete: ${errorMessage(err)}`);
    return undefined;
  }
}

/** The target's configured rate (bare metal, or an override), else what the provider priced. */
function priceOf(cell: MatrixCell, machine: Machine): { hourlyPriceUsd?: number } {
  const usd = cell.target.hourlyPriceUsd ?? machine.hourlyPriceUsd;
  return usd !== undefined ? { hourlyPriceUsd: usd } : {};
}

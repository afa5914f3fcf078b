/**
 * One container's life on any engine (the `Engine` port): create → start with its output
 * attached → wait (with timeout and cancel) → kill → copy score files and artifacts out →
 * remove. Whatever happens after create, the container is removed before `runContainer`
 * returns. Adapters (Docker today) only translate these steps.
 */
import {
  InfrastructureError,
  errorMessage,
  systemClock,
  type Clock,
  type ContainerSpec,
  type Engine,
  type EngineContainer,
  type Logger,
  type StoredArtifact,
} from '../core/index.js';
import { collectArtifacts, type ArtifactLimits, type SaveArtifact } from './collect-artifacts.js';
import { copyFileOut, type CopiedFile } from './copy-out.js';
import { OutputBuffer } from './output-buffer.js';

/** A container to run: how it is created, plus how long it may run and what is kept of it. */
export interface RunSpec extends ContainerSpec {
  timeoutMs: number;
  /**
   * Most output kept per stream; past it the oldest bytes are dropped.
   * @default 32 MiB
   */
  maxOutputBytes?: number;
  /** Absolute paths of files to read into memory after it exits (the files scores are read from). */
  collect?: readonly string[];
  /**
   * Most bytes kept per collected file.
   * @default 64 MiB
   */
  maxFileBytes?: number;
  /** Absolute paths of files streamed to `RunOptions.saveArtifact` after it exits, one at a time. */
  artifacts?: readonly string[];
  /** Caps on what is kept of `artifacts`; see `ARTIFACT_LIMITS` for the defaults. */
  artifactLimits?: ArtifactLimits;
}

export interface StartedContainer {
  id: string;
  /** Host pid of the container's init process (0 if it already exited). */
  pid: number;
}

export interface ContainerOutcome {
  containerId: string;
  /** Exit code, absent when the container was killed by benchyard. */
  exitCode?: number;
  /** The kernel's OOM killer killed a process of the container (its memory limit was hit). */
  oomKilled: boolean;
  timedOut: boolean;
  cancelled: boolean;
  stdout: string;
  stderr: string;
  outputTruncated: boolean;
  /** Collected files by container path; a path the container did not write is absent. */
  files: Map<string, CopiedFile>;
  /** The artifacts kept, in declaration order. */
  artifacts: StoredArtifact[];
  /** What was not kept of the declared artifacts and why (missing, a link, a folder, past a cap). */
  artifactNotes: string[];
  /** Epoch ms, as the engine recorded them. */
  startedAt: number;
  finishedAt: number;
}

export interface RunOptions {
  signal: AbortSignal;
  /** Called once the container runs, e.g. to start sampling its cgroup. */
  onStarted?: (container: StartedContainer) => void;
  /** Each complete line the container writes to stdout, as it arrives. */
  onStdoutLine?: (line: string) => void;
  /** Where `spec.artifacts` go; without it, none is copied. */
  saveArtifact?: SaveArtifact;
}

/**
 * The reason timers are cancelled with once what they raced settled: `abort()` without one
 * builds a DOMException with a stack trace, tens of µs a repetition (npm run perf:scale).
 */
const SETTLED = Object.freeze(new Error('settled'));

/** How long to wait for the attach stream to drain after the container exited. */
const DRAIN_MS = 5000;

export interface RunDeps {
  logger: Logger;
  clock?: Clock;
}

/** Runs one container to its end on `engine`; removed before this returns, whatever happened. */
export async function runContainer(
  engine: Engine,
  spec: RunSpec,
  opts: RunOptions,
  deps: RunDeps,
): Promise<ContainerOutcome> {
  const clock = deps.clock ?? systemClock;
  const afterExit = [...new Set([...(spec.collect ?? []), ...(spec.artifacts ?? [])])];
  const container = await engine.create(afterExit.length ? { ...spec, afterExit } : spec);
  deps.logger.debug(`created container ${short(container)}`, { name: spec.name, image: spec.image });
  try {
    return await startAndWait(container, spec, opts, deps.logger, clock);
  } finally {
    await container.remove().then(
      () => deps.logger.debug(`removed container ${short(container)}`),
      // Log and keep going: the run's own error (if any) matters more, and `gc` sweeps by label.
      (err: unknown) =>
        deps.logger.error(`could not remove container ${short(container)}: ${errorMessage(err)}`, {
          container: short(container),
        }),
    );
  }
}

const short = (c: EngineContainer) => c.id.slice(0, 12);

async function startAndWait(
  container: EngineContainer,
  spec: RunSpec,
  opts: RunOptions,
  logger: Logger,
  clock: Clock,
): Promise<ContainerOutcome> {
  const max = spec.maxOutputBytes ?? 32 * 1024 * 1024;
  // Lines printed before `onStarted` ran wait for it, so a watcher set up there sees them all.
  const early: string[] = [];
  let started = false;
  const onLine = opts.onStdoutLine;
  const stdout = new OutputBuffer(max, onLine && ((line) => (started ? onLine(line) : early.push(line))));
  const stderr = new OutputBuffer(max);
  const t0 = clock.now();
  const run = await container.start({ stdout: (c) => stdout.add(c), stderr: (c) => stderr.add(c) });
  opts.onStarted?.({ id: container.id, pid: run.pid });
  started = true;
  for (const line of early.splice(0)) onLine?.(line);

  const { timedOut, cancelled } = await waitOrStop(container, spec.timeoutMs, opts.signal, logger, clock);
  const drainTimer = new AbortController();
  await Promise.race([run.drained, clock.sleep(DRAIN_MS, drainTimer.signal).catch(() => undefined)]);
  drainTimer.abort(SETTLED); // a pending timer would hold the process open after the last container
  const state = await container.state();
  const files = new Map<string, CopiedFile>();
  for (const path of new Set(spec.collect ?? [])) {
    const file = await copyFileOut(container, path, spec.maxFileBytes ?? 64 * 1024 * 1024).catch(
      (err: unknown) => {
        if (err instanceof InfrastructureError) throw err;
        throw new InfrastructureError(
          `copying ${path} out of container ${short(container)}: ${errorMessage(err)}`,
          {},
          { cause: err },
        );
      },
    );
    if (file) files.set(path, file);
  }
  const kept =
    opts.saveArtifact && spec.artifacts?.length
      ? await collectArtifacts(container, spec.artifacts, opts.saveArtifact, spec.artifactLimits)
      : { artifacts: [], notes: [] };
  const startedAt = state.startedAt ?? t0;
  const finishedAt = state.finishedAt ?? clock.now();
  return {
    containerId: container.id,
    exitCode: timedOut || cancelled ? undefined : state.exitCode,
    oomKilled: state.oomKilled,
    timedOut,
    cancelled,
    stdout: stdout.text(),
    stderr: stderr.text(),
    outputTruncated: stdout.truncated || stderr.truncated,
    files,
    artifacts: kept.artifacts,
    artifactNotes: kept.notes,
    startedAt,
    finishedAt: Math.max(finishedAt, startedAt),
  };
}

/** Waits for exit; kills the container on timeout or abort. */
async function waitOrStop(
  container: EngineContainer,
  timeoutMs: number,
  signal: AbortSignal,
  logger: Logger,
  clock: Clock,
): Promise<{ timedOut: boolean; cancelled: boolean }> {
  const exited = container.wait().then(() => 'exited' as const);
  const stop = new AbortController();
  const timer = clock.sleep(timeoutMs, stop.signal).then(
    () => 'timeout' as const,
    () => 'never' as const,
  );
  const aborted = new Promise<'cancelled'>((resolve) => {
    if (signal.aborted) return resolve('cancelled');
    signal.addEventListener('abort', () => resolve('cancelled'), { once: true, signal: stop.signal });
  });
  try {
    const first = await Promise.race([exited, timer, aborted]);
    if (first === 'exited' || first === 'never') return { timedOut: false, cancelled: false };
    logger.info(`stopping container ${short(container)}: ${first}`);
    await container.kill();
    await exited.catch(() => undefined);
    return { timedOut: first === 'timeout', cancelled: first === 'cancelled' };
  } finally {
    stop.abort(SETTLED);
  }
}

/**
 * Collects a machine's fingerprint through its Docker engine: `docker.info()` and
 * `docker.version()`, plus the probe script in a one-shot container that sees the host's
 * /proc, /sys and os-release read-only, without network. The container is created with
 * `AutoRemove: false` and removed here whatever happens.
 *
 * Where the engine has the `nvidia` runtime, the container asks for the GPUs (utility
 * capability only) so the NVIDIA toolkit mounts `nvidia-smi` into it; if the engine
 * refuses, the probe runs again without them and GPUs come from procfs/PCI.
 *
 * Only an unreachable engine or an abort throws. A probe that cannot run or fails halfway
 * yields a fingerprint without the missing parts, its `problems` saying what happened.
 */
import type Docker from 'dockerode';
import {
  CancelledError,
  InfrastructureError,
  LABELS,
  errorMessage,
  silentLogger,
  systemClock,
  type Clock,
  type Logger,
} from '../core/index.js';
import { DockerEngine, dockerFailure, dockerMessage, isUnreachable, runContainer } from '../engine/index.js';
import { buildFingerprint, type Fingerprint } from './fingerprint.js';
import { parseDockerInfo } from './parse-docker.js';
import { PROBE_SCRIPT, parseProbeOutput } from './probe-script.js';

export interface CollectOptions {
  /** Image the probe runs in; it must already be on the engine (it is never pulled). */
  image: string;
  signal?: AbortSignal;
  /**
   * How long the probe container may run before it is killed.
   * @default 120_000
   */
  timeoutMs?: number;
  /**
   * Ask the engine for the GPUs, so `nvidia-smi` is there: `auto` does when `docker info`
   * lists an `nvidia` runtime.
   * @default 'auto'
   */
  gpus?: 'auto' | boolean;
  /** Labels added to the probe container's (e.g. the session's, for sweeping). */
  labels?: Readonly<Record<string, string>>;
  logger?: Logger;
  clock?: Clock;
}

/** The label every probe container carries. */
export const PROBE_LABEL = { key: 'benchyard.probe', value: 'fingerprint' } as const;

const HOST_MOUNTS = { '/proc': '/host/proc', '/sys': '/host/sys', '/etc/os-release': '/host/etc/os-release' };
const DEFAULT_TIMEOUT_MS = 120_000;
const MAX_OUTPUT_BYTES = 16 * 1024 * 1024;

interface ProbeRun {
  stdout: string;
  stderr: string;
  exitCode?: number;
  timedOut: boolean;
}

export async function collectFingerprint(docker: Docker, opts: CollectOptions): Promise<Fingerprint> {
  const signal = opts.signal ?? new AbortController().signal;
  const logger = opts.logger ?? silentLogger;
  const problems: string[] = [];
  const [info, version] = await Promise.allSettled([docker.info(), docker.version()]);
  for (const r of [info, version]) {
    if (r.status === 'rejected' && isUnreachable(r.reason)) {
      throw dockerFailure('Docker engine unreachable', r.reason);
    }
  }
  if (info.status === 'rejected') problems.push(`docker info failed: ${dockerMessage(info.reason)}`);
  if (version.status === 'rejected') problems.push(`docker version failed: ${dockerMessage(version.reason)}`);
  const dockerInfo: unknown = info.status === 'fulfilled' ? info.value : undefined;
  const dockerVersion: unknown = version.status === 'fulfilled' ? version.value : undefined;

  const nvidia = parseDockerInfo(dockerInfo)?.nvidiaRuntime ?? false;
  const wantGpus = opts.gpus === 'auto' || opts.gpus === undefined ? nvidia : opts.gpus;
  // A failed probe costs its sections, not the fingerprint; only abort and a lost engine throw.
  const note = (problem: string) => {
    logger.warn(`fingerprint probe: ${problem}`);
    problems.push(problem);
  };
  const tolerate = (err: unknown): undefined => {
    if (signal.aborted) throw new CancelledError('fingerprint collection cancelled');
    const wrapped = err instanceof InfrastructureError;
    if (isUnreachable(wrapped ? err.cause : err)) {
      throw wrapped ? err : dockerFailure('Docker engine unreachable', err);
    }
    note(`probe container failed: ${wrapped ? err.message : dockerMessage(err)}`);
    return undefined;
  };
  let run: ProbeRun | undefined;
  try {
    run = await runProbe(docker, opts, wantGpus, signal, logger);
  } catch (err) {
    // A refusal of the GPUs (no runtime after all, a broken driver) costs them, not the probe.
    const gpusRefused = wantGpus && err instanceof InfrastructureError && !isUnreachable(err.cause);
    if (!gpusRefused) tolerate(err);
    else {
      note(`the engine refused the GPUs (${errorMessage(err)}); probed without them`);
      run = await runProbe(docker, opts, false, signal, logger).catch(tolerate);
    }
  }
  if (signal.aborted) throw new CancelledError('fingerprint collection cancelled');

  const probe = parseProbeOutput(run?.stdout ?? '');
  if (run?.timedOut) problems.push(`probe killed after ${opts.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms`);
  else if (run && run.exitCode !== 0) {
    const stderr = run.stderr.trim().slice(-500);
    problems.push(`probe exited with status ${run.exitCode ?? 'unknown'}${stderr ? `: ${stderr}` : ''}`);
  }
  return buildFingerprint({
    sections: probe.sections,
    ...(run ? { complete: probe.complete } : {}),
    dockerInfo,
    dockerVersion,
    problems,
  });
}

/** create → attach → start → wait (timeout, abort) → remove, always: the engine's runner. */
async function runProbe(
  docker: Docker,
  opts: CollectOptions,
  gpus: boolean,
  signal: AbortSignal,
  logger: Logger,
): Promise<ProbeRun> {
  if (signal.aborted) throw new CancelledError('fingerprint collection cancelled');
  const out = await runContainer(
    new DockerEngine(docker),
    {
      name: `benchyard-probe-${process.pid}-${Date.now().toString(36)}`,
      image: opts.image,
      argv: ['sh', '-c', PROBE_SCRIPT],
      labels: { ...opts.labels, [LABELS.managed]: 'true', [PROBE_LABEL.key]: PROBE_LABEL.value },
      network: 'none',
      timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      maxOutputBytes: MAX_OUTPUT_BYTES,
      readOnlyMounts: HOST_MOUNTS,
      // The toolkit mounts nvidia-smi and NVML for the `utility` capability; nothing for compute.
      ...(gpus
        ? {
            env: { NVIDIA_DRIVER_CAPABILITIES: 'utility' },
            access: { gpu: { count: 'all' as const }, devices: [], deviceCgroupRules: [], privileged: false },
          }
        : {}),
    },
    { signal },
    { logger, clock: opts.clock ?? systemClock },
  );
  return {
    stdout: out.stdout,
    stderr: out.stderr,
    ...(out.exitCode !== undefined ? { exitCode: out.exitCode } : {}),
    timedOut: out.timedOut,
  };
}

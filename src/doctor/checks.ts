/**
 * The checks `doctor` prints for one machine, from what `probeMachine` read. The matrix's
 * requirements are judged by the same rules placement uses (`unmetRequirements`); the
 * other checks are advice (warn) unless the machine cannot run containers at all.
 */
import type { Requirements, TargetFacts } from '../core/index.js';
import { gpusByModel } from '../metrics/gpu/index.js';
import { gpuProblemsNow } from '../metrics/index.js';
import { unmetRequirements } from '../plan/index.js';
import type { XidEvent } from '../metrics/index.js';
import type { MachineProbe } from './probe.js';

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface Check {
  check: string;
  status: CheckStatus;
  detail: string;
}

/** Below this share of free inodes on the engine's data root, a warning. */
export const MIN_FREE_INODES = 0.1;
/** Clocks further apart than this make metric timestamps of machines disagree. */
export const MAX_CLOCK_SKEW_MS = 1_000;

/** A requirement set of the matrix, with the entries that ask for it. */
export interface Needed {
  entries: readonly string[];
  requires: Requirements;
}

export function machineChecks(probe: MachineProbe, needed: readonly Needed[]): Check[] {
  if ('error' in probe.docker)
    return [
      { check: 'docker', status: 'fail', detail: `Docker engine does not answer: ${probe.docker.error}` },
    ];
  const checks: Check[] = [
    {
      check: 'docker',
      status: 'ok',
      detail: `Docker ${probe.docker.version} (API ${probe.docker.apiVersion}), ${probe.docker.os} ${probe.docker.kernel}`,
    },
    probe.storageDriver === 'overlay2'
      ? { check: 'storage driver', status: 'ok', detail: 'overlay2' }
      : {
          check: 'storage driver',
          status: 'warn',
          detail: `${probe.storageDriver ?? 'unknown'} (overlay2 is preferred: other drivers change I/O results and are slower to start containers)`,
        },
    inodeCheck(probe),
    clockCheck(probe),
  ];
  const wantsGpu = needed.some((n) => n.requires.gpu);
  const hasRuntime = probe.runtimes.includes('nvidia');
  checks.push(
    hasRuntime
      ? { check: 'NVIDIA runtime', status: 'ok', detail: `nvidia (runtimes: ${probe.runtimes.join(', ')})` }
      : {
          check: 'NVIDIA runtime',
          status: wantsGpu ? 'fail' : 'skip',
          detail: `none (runtimes: ${probe.runtimes.join(', ') || 'none'})${wantsGpu ? '; GPU benchmarks need nvidia-container-toolkit' : '; no benchmark asks for a GPU'}`,
        },
  );
  if (probe.nvidia && 'inventory' in probe.nvidia) {
    const inv = probe.nvidia.inventory;
    checks.push({
      check: 'nvidia-smi',
      status: 'ok',
      detail: `driver ${inv.driverVersion}${inv.cudaVersion ? `, CUDA ${inv.cudaVersion}` : ''}: ${inv.gpus.map((g) => `${g.name}${g.pciDeviceId ? ` [${g.pciDeviceId}]` : ''}`).join(', ') || 'no GPU'}`,
    });
  } else if (probe.nvidia && 'unreadable' in probe.nvidia)
    checks.push({
      check: 'nvidia-smi',
      status: 'warn',
      detail: `GPUs unknown: its -q -x output could not be read (${probe.nvidia.unreadable}); placement leaves GPU cells to the engine`,
    });
  else if (probe.nvidia)
    checks.push({ check: 'nvidia-smi', status: wantsGpu ? 'fail' : 'warn', detail: probe.nvidia.error });
  else if (wantsGpu)
    checks.push({ check: 'nvidia-smi', status: 'fail', detail: 'not run: the engine has no NVIDIA runtime' });
  checks.push(...healthChecks(probe));
  const devices = Object.entries(probe.devices);
  if (devices.length)
    checks.push({
      check: 'device nodes',
      status: devices.every(([, there]) => there) ? 'ok' : 'fail',
      detail: devices.map(([d, there]) => `${d} ${there ? 'present' : 'MISSING'}`).join(', '),
    });
  if (probe.probeError) checks.push({ check: 'probe container', status: 'warn', detail: probe.probeError });
  checks.push(...requirementChecks(factsOf(probe), needed));
  return checks;
}

/**
 * One line per requirement set of the matrix: met, or what is missing; a warning where GPUs
 * are asked for and the machine's are unknown (placement keeps such cells).
 */
export function requirementChecks(facts: TargetFacts | undefined, needed: readonly Needed[]): Check[] {
  return needed.map((n) => {
    const check = `requires of ${n.entries.join(', ')}`;
    const unmet = unmetRequirements(n.requires, facts);
    if (unmet.length) return { check, status: 'fail', detail: unmet.join('; ') };
    if (!facts) return { check, status: 'skip', detail: 'not known before a machine exists' };
    if (n.requires.gpu && !facts.gpus)
      return { check, status: 'warn', detail: 'GPUs unknown: the engine decides when the container starts' };
    return { check, status: 'ok', detail: 'met' };
  });
}

/** What the probe says the machine has, in the terms placement uses. */
export function factsOf(probe: MachineProbe): TargetFacts {
  const inv = probe.nvidia && 'inventory' in probe.nvidia ? probe.nvidia.inventory : undefined;
  return {
    // Without the runtime nvidia-smi cannot run in a container: GPUs are then unknown, not none.
    ...(inv ? { gpus: gpusByModel(inv) } : {}),
    nvidiaRuntime: probe.runtimes.includes('nvidia'),
    hasDevice: (p) => probe.devices[p] ?? true,
  };
}

/**
 * The GPUs' health now and XID errors in the kernel log: advice (a run on such a machine
 * marks its repetitions suspect), never a failure.
 */
export function healthChecks(probe: MachineProbe): Check[] {
  const checks: Check[] = [];
  if (probe.gpuHealth) {
    const problems = gpuProblemsNow(probe.gpuHealth);
    checks.push(
      problems.length > 0
        ? {
            check: 'GPU health',
            status: 'warn',
            detail: `${problems.join('; ')}; repetitions here may be suspect`,
          }
        : {
            check: 'GPU health',
            status: 'ok',
            detail: `${probe.gpuHealth.length} GPU(s): no retirement or remapping pending, no slowdown active, no uncorrectable ECC error`,
          },
    );
  }
  const log = probe.kernelLog;
  if (log && 'unreadable' in log)
    checks.push({
      check: 'XID errors',
      status: 'skip',
      detail: `XID errors not readable (${log.unreadable})`,
    });
  else if (log) checks.push(xidCheck(log.xids));
  return checks;
}

function xidCheck(xids: readonly XidEvent[]): Check {
  if (xids.length === 0) return { check: 'XID errors', status: 'ok', detail: 'none in the kernel log' };
  const counts = new Map<string, number>();
  for (const x of xids) {
    const what = `XID ${x.code} on ${x.pciBusId}`;
    counts.set(what, (counts.get(what) ?? 0) + 1);
  }
  const last = xids.at(-1)!;
  return {
    check: 'XID errors',
    status: 'warn',
    detail: `${[...counts].map(([what, n]) => `${n}× ${what}`).join(', ')} in the kernel log (latest: ${last.code}, ${last.detail || 'no detail'})`,
  };
}

function inodeCheck(probe: MachineProbe): Check {
  const where = probe.dockerRootDir ?? 'the data root';
  if (!probe.inodes || probe.inodes.total === 0)
    return {
      check: 'free inodes',
      status: probe.inodes ? 'ok' : 'warn',
      detail: probe.inodes
        ? `${where}: no inode limit (the filesystem allocates them)`
        : `${where}: not read`,
    };
  const share = probe.inodes.free / probe.inodes.total;
  return {
    check: 'free inodes',
    status: share < MIN_FREE_INODES ? 'warn' : 'ok',
    detail: `${where}: ${(share * 100).toFixed(1)}% free (${probe.inodes.free} of ${probe.inodes.total})${share < MIN_FREE_INODES ? '; image pulls and containers may fail' : ''}`,
  };
}

function clockCheck(probe: MachineProbe): Check {
  if (probe.clockSkewMs === undefined)
    return { check: 'clock skew', status: 'warn', detail: 'the engine did not say its time' };
  const ms = Math.round(probe.clockSkewMs);
  return {
    check: 'clock skew',
    status: Math.abs(ms) > MAX_CLOCK_SKEW_MS ? 'warn' : 'ok',
    detail: `${ms >= 0 ? '+' : ''}${ms} ms against this machine${Math.abs(ms) > MAX_CLOCK_SKEW_MS ? ' (metric timestamps of machines will not line up; run NTP/chrony)' : ''}`,
  };
}

/**
 * Reading a pod's status (pure): why it waits (the scheduler's `Unschedulable` message, an
 * image pull error), whether it can never run (a bad image name, a pull refused for good),
 * how it ended (evicted, its deadline, its node lost, preempted), and its container's state.
 * These become benchyard's failure reasons word for word.
 */
import type { V1ContainerStatus, V1Pod } from './api.js';

/** A container waiting for one of these will not start without someone changing something. */
const HOPELESS = new Set([
  'InvalidImageName',
  'ErrImageNeverPull',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
  'ImageInspectError',
]);

export interface Waiting {
  /** One line: `Unschedulable: 0/3 nodes are available: 3 Insufficient nvidia.com/gpu.` */
  reason: string;
  /** It will not run by itself (bad image, refused pull). */
  hopeless: boolean;
  /** The scheduler found no node (it may later, when something else ends). */
  unschedulable: boolean;
}

export function containerStatus(pod: V1Pod, name: string): V1ContainerStatus | undefined {
  return pod.status?.containerStatuses?.find((c) => c.name === name);
}

/** Why the pod does not run yet; `undefined` when nothing holds it (or it runs). */
export function waitingOf(pod: V1Pod, container: string): Waiting | undefined {
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False')
    return {
      reason: `${scheduled.reason ?? 'Unschedulable'}: ${oneLine(scheduled.message ?? 'no node fits')}`,
      hopeless: false,
      unschedulable: true,
    };
  const w = containerStatus(pod, container)?.state?.waiting;
  if (!w?.reason || w.reason === 'ContainerCreating' || w.reason === 'PodInitializing') return undefined;
  return {
    reason: `${w.reason}${w.message ? `: ${oneLine(w.message)}` : ''}`,
    // A failed pull is retried by the kubelet; once it backs off (`ImagePullBackOff`) it failed twice.
    hopeless: HOPELESS.has(w.reason) || w.reason === 'ImagePullBackOff',
    unschedulable: false,
  };
}

/** How the pod itself ended, when Kubernetes ended it (not its container exiting by itself). */
export function podFailure(pod: V1Pod): string | undefined {
  const phase = pod.status?.phase;
  const disruption = pod.status?.conditions?.find(
    (c) => c.type === 'DisruptionTarget' && c.status === 'True',
  );
  if (disruption) return `${disruption.reason ?? 'disrupted'}: ${oneLine(disruption.message ?? '')}`.trim();
  if (phase === 'Failed' && pod.status?.reason)
    return `${pod.status.reason}${pod.status.message ? `: ${oneLine(pod.status.message)}` : ''}`;
  if (phase === 'Unknown')
    return `the pod's node stopped reporting (phase Unknown)${pod.status?.message ? `: ${oneLine(pod.status.message)}` : ''}`;
  return undefined;
}

export interface Ended {
  exitCode: number;
  oomKilled: boolean;
  reason?: string;
  /** Epoch ms, as the kubelet reported them (whole seconds). */
  startedAt?: number;
  finishedAt?: number;
}

/** The container's end, once it terminated. */
export function terminatedOf(pod: V1Pod, container: string): Ended | undefined {
  const t = containerStatus(pod, container)?.state?.terminated;
  if (!t) return undefined;
  const ms = (d: Date | string | undefined) => (d === undefined ? NaN : new Date(d).getTime());
  const startedAt = ms(t.startedAt);
  const finishedAt = ms(t.finishedAt);
  return {
    exitCode: t.exitCode,
    oomKilled: t.reason === 'OOMKilled',
    ...(t.reason ? { reason: t.reason } : {}),
    ...(Number.isFinite(startedAt) ? { startedAt } : {}),
    ...(Number.isFinite(finishedAt) ? { finishedAt } : {}),
  };
}

/** Whether the container runs or ran (its log can be followed). */
export function startedOf(pod: V1Pod, container: string): boolean {
  const s = containerStatus(pod, container)?.state;
  return Boolean(s?.running || s?.terminated);
}

/** The CRI container id (`containerd://<64 hex>` → the hex), where the kubelet reported it. */
export function criIdOf(pod: V1Pod, container: string): string | undefined {
  const id = containerStatus(pod, container)?.containerID;
  return id?.includes('://') ? id.slice(id.indexOf('://') + 3) : id || undefined;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim().slice(0, 500);
}

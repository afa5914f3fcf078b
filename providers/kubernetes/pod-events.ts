/**
 * A machine's benchmark pods as container events (`Engine.events`), read off the pod watch:
 * `create` when a pod is first seen, `start` when its container runs, `oom` and `die` (with
 * its exit code) when it terminated, `kill` when it was deleted before it ended, `destroy`
 * once it is gone. Each pod's steps are reported once, in that order, whatever the watch
 * skipped (a short container is often reported running and terminated at once). The
 * container id is the CRI id once the kubelet reported it, the pod's name before.
 */
import type { EngineEvent } from '../../src/core/index.js';
import type { V1Pod } from './api.js';
import { containerLabelsOf, K8S_LABELS } from './identity.js';
import { BENCH_CONTAINER } from './pod-spec.js';
import { criIdOf, startedOf, terminatedOf } from './pod-status.js';
import type { PodWatch } from './pod-watch.js';

interface Seen {
  started: boolean;
  ended: boolean;
  last: V1Pod;
}

export function podEvents(
  watch: PodWatch,
  keyLabel: string,
  now: () => number,
  publish: (e: EngineEvent) => void,
): { close(): void } {
  const pods = new Map<string, Seen>();
  const emit = (
    name: string,
    pod: V1Pod,
    action: EngineEvent['action'],
    extra: Partial<EngineEvent> = {},
  ) => {
    const image = pod.spec?.containers.find((c) => c.name === BENCH_CONTAINER)?.image;
    publish({
      containerId: criIdOf(pod, BENCH_CONTAINER) ?? name,
      name,
      ...(image ? { image } : {}),
      action,
      timestamp: now(),
      labels: containerLabelsOf(pod),
      ...extra,
    });
  };
  const off = watch.onAny((name, pod) => {
    const seen = pods.get(name);
    if (!pod) {
      if (!seen) return;
      if (!seen.ended) emit(name, seen.last, 'kill');
      emit(name, seen.last, 'destroy');
      pods.delete(name);
      return;
    }
    const labels = pod.metadata?.labels ?? {};
    if (labels[K8S_LABELS.role] !== 'benchmark' || labels[K8S_LABELS.key] !== keyLabel) return;
    const s = seen ?? { started: false, ended: false, last: pod };
    s.last = pod;
    if (!seen) {
      pods.set(name, s);
      emit(name, pod, 'create');
    }
    const ended = terminatedOf(pod, BENCH_CONTAINER);
    if (!s.started && (startedOf(pod, BENCH_CONTAINER) || ended)) {
      s.started = true;
      emit(name, pod, 'start');
    }
    if (ended && !s.ended) {
      s.ended = true;
      if (ended.oomKilled) emit(name, pod, 'oom');
      emit(name, pod, 'die', { exitCode: ended.exitCode });
    }
  });
  return { close: off };
}

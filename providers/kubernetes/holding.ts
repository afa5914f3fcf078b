/**
 * Holding a node, step by step: the nodes a holder may go to (those with the GPUs the
 * target's cells need), waiting until the scheduler placed it and it runs (saying why it
 * waits), what a benchmark pod on the node gets, and deleting every pod of a ledger entry
 * until the API server no longer has them.
 */
import {
  InfrastructureError,
  ProvisionError,
  errorMessage,
  type ProviderContext,
} from '../../src/core/index.js';
import type { KubernetesTargetOptions } from '../../src/config/targets/kubernetes.js';
import type { KubeApi, V1Node, V1Pod } from './api.js';
import { K8S_LABELS, labelValue, MANAGED_BY, provesOwnership } from './identity.js';
import { defaultSize, nodeGpus, nodeLeft, nodeUsable, quantity, selectorOf } from './nodes.js';
import { GPU_RESOURCE } from './pod-spec.js';
import { podFailure, waitingOf } from './pod-status.js';
import type { PodWatch } from './pod-watch.js';

/** How long the pods of an entry may take to be gone once deleted. */
const GONE_TIMEOUT_MS = 120_000;

/**
 * Where the target's cells need GPUs, the usable nodes the selector matches that have as
 * many (the holder asks for none itself, so the scheduler alone would not know): the holder
 * may go only there. `undefined`: any node.
 */
export async function nodesWithGpus(
  api: KubeApi,
  o: KubernetesTargetOptions,
  gpus: number,
): Promise<string[] | undefined> {
  if (gpus <= 0) return undefined;
  const selector = selectorOf(o.nodeSelector);
  const fit = (await api.listNodes(selector))
    .filter((n) => nodeUsable(n) && nodeGpus(n) >= gpus)
    .map((n) => n.metadata?.name)
    .filter((n): n is string => Boolean(n));
  if (fit.length === 0)
    throw new ProvisionError(
      `kubernetes: no usable node${selector ? ` matching ${selector}` : ''} has ${gpus} ${GPU_RESOURCE}`,
      'CAPACITY',
    );
  return fit;
}

/** Waits until the holder runs, saying why it waits whenever that changes. */
export function waitHeld(
  watch: PodWatch,
  name: string,
  o: KubernetesTargetOptions,
  ctx: Pick<ProviderContext, 'clock' | 'logger' | 'progress'>,
  signal: AbortSignal,
): Promise<V1Pod> {
  return new Promise<V1Pod>((resolve, reject) => {
    let told = '';
    const timer = new AbortController();
    const finish = (err: Error | undefined, pod?: V1Pod) => {
      unfollow();
      timer.abort();
      signal.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve(pod!);
    };
    const check = (pod: V1Pod | undefined) => {
      if (!pod)
        return finish(
          new ProvisionError(`kubernetes: holder pod ${name} was deleted before it ran`, 'INFRA'),
        );
      if (pod.status?.phase === 'Running') return finish(undefined, pod);
      const failed = podFailure(pod) ?? (pod.status?.phase === 'Succeeded' ? 'it ended' : undefined);
      if (failed)
        return finish(
          new ProvisionError(`kubernetes: holder pod ${name} ended before it ran: ${failed}`, 'INFRA'),
        );
      const w = waitingOf(pod, 'hold');
      if (w?.hopeless)
        return finish(
          new ProvisionError(
            `kubernetes: holder pod ${name} cannot start: ${w.reason} (holderImage: ${o.holderImage})`,
            'INFRA',
          ),
        );
      if (w && w.reason !== told) {
        told = w.reason;
        (ctx.progress ?? ctx.logger.info)(
          `kubernetes: waiting for a node in ${o.namespace} (${name}): ${w.reason}`,
        );
      }
    };
    const onAbort = () => finish(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    const unfollow = watch.follow(name, check);
    signal.addEventListener('abort', onAbort, { once: true });
    if (o.holdTimeout !== undefined)
      ctx.clock.sleep(o.holdTimeout, timer.signal).then(
        () =>
          finish(
            new ProvisionError(
              `kubernetes: no node held within ${Math.round(o.holdTimeout! / 1000)} s${told ? `: ${told}` : ''}`,
              'CAPACITY',
            ),
          ),
        () => undefined,
      );
    const now = watch.current(name);
    if (now) check(now);
  });
}

/** The benchmark pods' CPU and memory: the target's, else what the node has left once held. */
export async function podSize(
  api: KubeApi,
  o: KubernetesTargetOptions,
  node: V1Node,
  name: string,
): Promise<{ milliCpu: number; memoryBytes: number }> {
  const cpu = quantity(o.cpu);
  const memory = quantity(o.memory);
  if (cpu !== undefined && memory !== undefined)
    return { milliCpu: Math.round(cpu * 1000), memoryBytes: Math.floor(memory) };
  let left: { milliCpu: number; memoryBytes: number };
  try {
    left = defaultSize(nodeLeft(node, await api.listNodePods(name)));
  } catch (err) {
    throw new InfrastructureError(
      `kubernetes: cannot tell what node ${name} has left (${errorMessage(err)}): set the target's 'cpu' and 'memory'`,
    );
  }
  if (left.milliCpu < 1 || left.memoryBytes < 1)
    throw new ProvisionError(
      `kubernetes: node ${name} has nothing left for a benchmark pod (${left.milliCpu}m CPU, ${left.memoryBytes} B)`,
      'CAPACITY',
    );
  return {
    milliCpu: cpu !== undefined ? Math.round(cpu * 1000) : left.milliCpu,
    memoryBytes: memory !== undefined ? Math.floor(memory) : left.memoryBytes,
  };
}

/**
 * Deletes every pod of the ledger entry `key` (benchmarks, agent, holder) — those that prove
 * they are its own (owner annotation naming it, created by benchyard's field manager) — and
 * resolves once the API server no longer has any.
 */
export async function deleteEntryPods(
  api: KubeApi,
  namespace: string,
  key: string,
  ctx: Pick<ProviderContext, 'clock'>,
): Promise<void> {
  const selector = `${K8S_LABELS.managedBy}=${MANAGED_BY},${K8S_LABELS.key}=${labelValue(key)}`;
  const deadline = ctx.clock.now() + GONE_TIMEOUT_MS;
  for (let look = 0; ; look++) {
    const pods = (await api.listPods(namespace, selector)).filter((p) => provesOwnership(p, { key }));
    if (pods.length === 0) return;
    if (ctx.clock.now() > deadline)
      throw new InfrastructureError(
        `kubernetes: pods of ${key} still exist ${GONE_TIMEOUT_MS / 1000} s after their deletion: ${pods.map((p) => p.metadata?.name).join(', ')}`,
      );
    await Promise.all(
      pods
        .filter((p) => !p.metadata?.deletionTimestamp || look === 0)
        .map((p) => api.deletePod(namespace, p.metadata!.name!, 0)),
    );
    await ctx.clock.sleep(Math.min(1000, 100 * 2 ** look));
  }
}

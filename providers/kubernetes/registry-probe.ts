/**
 * `doctor`'s registry check for a kubernetes target: can its nodes pull from the run's
 * registry? The one honest test is a pull there: a small probe pod (`probePod`) on one of
 * the target's usable nodes pulls an image the controller just pushed, by digest, afresh.
 * Its ledger entry is written before it is created and it is deleted (and waited for)
 * whatever happens; its deadline ends it if doctor cannot, and `gc` finds it as any other
 * benchyard pod.
 */
import {
  errorMessage,
  recordIntent,
  type PreflightCheck,
  type ProviderContext,
} from '../../src/core/index.js';
import type { KubernetesTargetOptions } from '../../src/config/targets/kubernetes.js';
import { refusedCreate, type V1Node, type V1Pod } from './api.js';
import type { Cluster } from './clusters.js';
import { deleteEntryPods } from './holding.js';
import { podName, type PodOwner } from './identity.js';
import { placementOf, probePod, PROBE_CONTAINER } from './pod-spec.js';
import { containerStatus, podFailure, waitingOf } from './pod-status.js';

/** How long the probe may take to be placed and pull (a large image on a slow link takes longer: then it says so). */
export const PROBE_TIMEOUT_MS = 120_000;
/** The probe pod's (and its ledger entry's) life at most, should doctor not delete it. */
const PROBE_LIFETIME_MS = 2 * PROBE_TIMEOUT_MS;

/** Waiting reasons that say the pull itself failed. */
const PULL_FAILED = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'ErrImageNeverPull']);

export interface ProbeDeps {
  cluster: Cluster;
  ctx: Pick<ProviderContext, 'ledger' | 'clock' | 'logger'>;
  target: string;
  signal: AbortSignal;
}

/**
 * The `registry` check: `image` (`<registry>/<repo>@sha256:…`) pulled on one of `nodes`.
 * OK once the kubelet has the image (its container was created); FAIL with the kubelet's
 * words when the pull fails; WARN when the probe could not be placed or did not finish in
 * time (which says nothing about the registry).
 */
export async function probeRegistry(
  o: KubernetesTargetOptions,
  nodes: readonly V1Node[],
  image: string,
  deps: ProbeDeps,
): Promise<PreflightCheck> {
  const { cluster, ctx, signal } = deps;
  const registry = image.split('/')[0]!;
  const check = (status: PreflightCheck['status'], detail: string): PreflightCheck => ({
    check: `registry ${registry}`,
    status,
    detail,
  });
  const names = nodes.map((n) => n.metadata!.name!);
  const entry = recordIntent(
    ctx.ledger,
    {
      provider: 'kubernetes',
      kind: 'pod',
      target: deps.target,
      region: cluster.api.context,
      zone: o.namespace,
      details: { ...cluster.details, namespace: o.namespace, role: 'probe' },
    },
    new Date(ctx.clock.now() + PROBE_LIFETIME_MS),
  );
  const owner: PodOwner = {
    key: entry.key,
    session: entry.session,
    owner: entry.owner,
    expiresAt: entry.expiresAt,
  };
  const name = podName('probe', entry.key);
  const t0 = ctx.clock.now();
  try {
    const outcome = await entry.create(
      () =>
        cluster.api.createPod(
          o.namespace,
          probePod({
            name,
            owner,
            placement: placementOf(o),
            nodes: names,
            image,
            deadlineSeconds: PROBE_LIFETIME_MS / 1000,
          }),
        ),
      { created: () => ({ resourceId: name }), notCreated: refusedCreate },
    );
    if (!outcome.created)
      return check('fail', `the probe pod was refused in ${o.namespace}: ${errorMessage(outcome.error)}`);
    const pulled = await awaitPull(cluster, o.namespace, name, ctx, signal);
    const secs = ((ctx.clock.now() - t0) / 1000).toFixed(1);
    switch (pulled.kind) {
      case 'pulled':
        return check('ok', `node ${pulled.node} pulled ${image} in ${secs} s`);
      case 'failed':
        return check('fail', `node ${pulled.node} cannot pull ${image}: ${pulled.reason}`);
      case 'unplaced':
        return check('warn', `no node took the probe pod, so the pull is untried: ${pulled.reason}`);
      case 'ended':
        return check('warn', `the probe pod ended before its pull was decided: ${pulled.reason}`);
      case 'timeout':
        return check(
          'warn',
          `the probe pod had not pulled ${image} ${PROBE_TIMEOUT_MS / 1000} s after its creation${pulled.reason ? ` (${pulled.reason})` : ''}`,
        );
    }
  } catch (err) {
    return check('fail', `pull probe: ${errorMessage(err)}`);
  } finally {
    await deleteEntryPods(cluster.api, o.namespace, entry.key, ctx)
      .then(() => entry.released())
      .catch((err: unknown) =>
        ctx.logger.warn(`kubernetes: probe pod ${name}: ${errorMessage(err)}; run 'benchyard gc'`),
      );
    entry[Symbol.dispose]();
  }
}

type Pulled =
  | { kind: 'pulled'; node: string }
  | { kind: 'failed'; node: string; reason: string }
  | { kind: 'unplaced'; reason: string }
  | { kind: 'ended'; reason: string }
  | { kind: 'timeout'; reason?: string };

/** Reads the probe pod back until its image is pulled, its pull failed, or time is up. */
async function awaitPull(
  cluster: Cluster,
  namespace: string,
  name: string,
  ctx: Pick<ProviderContext, 'clock'>,
  signal: AbortSignal,
): Promise<Pulled> {
  const deadline = ctx.clock.now() + PROBE_TIMEOUT_MS;
  let last: V1Pod | undefined;
  for (let look = 0; ; look++) {
    signal.throwIfAborted();
    last = await cluster.api.readPod(namespace, name);
    if (!last) throw new Error(`the probe pod ${name} was deleted from outside`);
    const verdict = judge(last);
    if (verdict) return verdict;
    if (ctx.clock.now() >= deadline) {
      const waiting = waitingOf(last, PROBE_CONTAINER);
      if (waiting?.unschedulable) return { kind: 'unplaced', reason: waiting.reason };
      return { kind: 'timeout', ...(waiting ? { reason: waiting.reason } : {}) };
    }
    await ctx.clock.sleep(Math.min(1000, 100 * 2 ** look));
  }
}

/** What the pod as read says of the pull; `undefined` while it is still undecided. */
export function judge(pod: V1Pod): Pulled | undefined {
  const node = pod.spec?.nodeName ?? '?';
  const status = containerStatus(pod, PROBE_CONTAINER);
  // The kubelet creates the container only from a pulled image.
  if (
    status?.imageID ||
    status?.state?.running ||
    status?.state?.terminated ||
    pod.status?.phase === 'Succeeded'
  )
    return { kind: 'pulled', node };
  const waiting = waitingOf(pod, PROBE_CONTAINER);
  if (waiting && !waiting.unschedulable) {
    const reason = waiting.reason.split(':')[0]!;
    if (PULL_FAILED.has(reason)) return { kind: 'failed', node, reason: waiting.reason };
  }
  const ended = podFailure(pod);
  if (ended) return { kind: 'ended', reason: ended };
  return undefined;
}

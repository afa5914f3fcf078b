/**
 * `doctor` for a kubernetes target: the context's API server answers, the user may do what
 * benchyard does (SelfSubjectAccessReview for pods, pods/log, pods/exec, pods/attach in the
 * namespace, nodes cluster-wide), nodes match the selector and which of them offer
 * `nvidia.com/gpu` (the device plugin's resource), and the namespace's quota. When all of
 * that holds, whether a node can pull from the run's registry: the one thing it creates, a
 * probe pod (`registry-probe.ts`), deleted before doctor ends.
 */
import {
  errorMessage,
  type PreflightCheck,
  type PreflightOptions,
  type ProviderContext,
  type TargetSpec,
} from '../../src/core/index.js';
import type { KubernetesTargetOptions } from '../../src/config/targets/kubernetes.js';
import type { V1Node } from './api.js';
import type { Clusters } from './clusters.js';
import { nodeGpus, nodeUsable, quantity, quotaGpusLeft, selectorOf } from './nodes.js';
import { GPU_RESOURCE } from './pod-spec.js';
import { probeRegistry, type ProbeDeps } from './registry-probe.js';

/** What benchyard does in the namespace, as SelfSubjectAccessReviews ask it. */
const NEEDED: readonly [verb: string, resource: string, sub?: string][] = [
  ['create', 'pods'],
  ['get', 'pods'],
  ['list', 'pods'],
  ['watch', 'pods'],
  ['delete', 'pods'],
  ['get', 'pods', 'log'],
  ['create', 'pods', 'exec'],
  ['create', 'pods', 'attach'],
];

export async function kubernetesPreflight(
  clusters: Clusters,
  target: TargetSpec,
  signal: AbortSignal,
  opts: PreflightOptions | undefined,
  ctx: Pick<ProviderContext, 'ledger' | 'clock' | 'logger'>,
): Promise<PreflightCheck[]> {
  const o = target.options as KubernetesTargetOptions;
  const checks: PreflightCheck[] = [];
  let cluster;
  let api;
  let pullers: V1Node[] = [];
  try {
    // A bad kubeconfig or context is this check's FAIL, not an exception.
    cluster = clusters.get(o);
    api = cluster.api;
    const nodes = await api.listNodes(selectorOf(o.nodeSelector));
    checks.push({ check: 'kubernetes context', status: 'ok', detail: `${api.context} at ${api.server}` });
    signal.throwIfAborted();
    const usable = nodes.filter(nodeUsable);
    checks.push({
      check: 'nodes',
      status: usable.length ? 'ok' : 'fail',
      detail: nodes.length
        ? nodes
            .map(
              (n) =>
                `${n.metadata?.name} ${nodeUsable(n) ? 'Ready' : 'not schedulable'} (${quantity(n.status?.allocatable?.cpu) ?? '?'} CPUs, ${nodeGpus(n)} ${GPU_RESOURCE})`,
            )
            .join('; ')
        : `no node matches ${selectorOf(o.nodeSelector) ?? '(any)'}`,
    });
    const withGpus = usable.filter((n) => nodeGpus(n) > 0);
    const gpusWanted = (target.gpusPerMachine ?? 0) > 0;
    pullers = gpusWanted ? withGpus : usable;
    checks.push({
      check: `device plugin (${GPU_RESOURCE})`,
      status: withGpus.length ? 'ok' : gpusWanted ? 'fail' : 'skip',
      detail: withGpus.length
        ? `${withGpus.length} node(s) offer ${GPU_RESOURCE}`
        : `no matching node offers ${GPU_RESOURCE}: is NVIDIA's device plugin running there?`,
    });
  } catch (err) {
    checks.push({ check: 'kubernetes context', status: 'fail', detail: errorMessage(err) });
    return checks;
  }
  try {
    const denied: string[] = [];
    for (const [verb, resource, sub] of NEEDED) {
      const r = await api.canI(o.namespace, verb, resource, sub);
      if (!r.allowed) denied.push(`${verb} ${resource}${sub ? `/${sub}` : ''}`);
    }
    const nodes = await api.canI(undefined, 'list', 'nodes');
    if (!nodes.allowed) denied.push('list nodes (cluster-wide)');
    const pods = await api.canI(undefined, 'list', 'pods');
    checks.push({
      check: `RBAC in ${o.namespace}`,
      status: denied.length ? 'fail' : 'ok',
      detail: denied.length
        ? `not allowed: ${denied.join(', ')} (examples/kubernetes-rbac.yaml has the Role benchyard needs)`
        : `pods, pods/log, pods/exec, pods/attach, nodes${pods.allowed ? ', pods cluster-wide' : " (not pods cluster-wide: set the target's cpu and memory)"}`,
    });
  } catch (err) {
    checks.push({ check: `RBAC in ${o.namespace}`, status: 'fail', detail: errorMessage(err) });
  }
  try {
    const quotas = await api.listQuotas(o.namespace);
    const left = quotaGpusLeft(quotas);
    checks.push({
      check: `quota in ${o.namespace}`,
      status: left === 0 && (target.gpusPerMachine ?? 0) > 0 ? 'fail' : 'ok',
      detail: quotas.length
        ? quotas
            .map(
              (q) =>
                `${q.metadata?.name}: ${Object.entries(q.status?.hard ?? {})
                  .map(([k, v]) => `${k} ${q.status?.used?.[k] ?? 0}/${v}`)
                  .join(', ')}`,
            )
            .join('; ')
        : 'no ResourceQuota',
    });
  } catch (err) {
    checks.push({ check: `quota in ${o.namespace}`, status: 'warn', detail: errorMessage(err) });
  }
  if (opts && !checks.some((c) => c.status === 'fail'))
    checks.push(await registryCheck(o, pullers, opts, { cluster, ctx, target: target.name, signal }));
  return checks;
}

/** Whether the target's nodes pull from the run's registry: a probe pod pulls what the controller pushed. */
async function registryCheck(
  o: KubernetesTargetOptions,
  nodes: readonly V1Node[],
  opts: PreflightOptions,
  deps: ProbeDeps,
): Promise<PreflightCheck> {
  if (!opts.registryImage)
    return {
      check: 'registry',
      status: 'fail',
      detail: "the matrix has no images.registry: a cluster's nodes pull each image by digest from one",
    };
  let image;
  try {
    image = await opts.registryImage();
  } catch (err) {
    return { check: 'registry', status: 'fail', detail: `pushing the probe image: ${errorMessage(err)}` };
  }
  return probeRegistry(o, nodes, image, deps);
}

/**
 * What `gc` finds of the kubernetes provider: pods labelled managed-by benchyard in the
 * namespaces the ledger's entries name, each with its owner annotation. A pod is deleted
 * only after it is read back from the API server and its annotation carries the ledger
 * entry's key and session and benchyard created it (its managedFields name benchyard's
 * field manager): a pod that copies the labels (or the annotation) is left alone.
 */
import { OwnershipError, type ProviderContext, type ResourceRef } from '../../src/core/index.js';
import type { Clusters } from './clusters.js';
import { K8S_LABELS, labelValue, MANAGED_SELECTOR, ownerOf, provesOwnership } from './identity.js';

/** How long `destroy` waits for a deleted pod to be gone. */
const GONE_TIMEOUT_MS = 60_000;

export class KubernetesLeftovers {
  constructor(
    private readonly ctx: ProviderContext,
    private readonly clusters: Clusters,
  ) {}

  async discover(opts: {
    session?: string;
    hints: readonly ResourceRef[];
    signal: AbortSignal;
  }): Promise<ResourceRef[]> {
    const out: ResourceRef[] = [];
    const seen = new Set<string>();
    for (const hint of opts.hints) {
      const d = hint.details ?? {};
      const cluster = this.clusters.recorded(d);
      const namespace = typeof d.namespace === 'string' ? d.namespace : undefined;
      if (!cluster || !namespace) continue;
      const where = `${cluster.details.kubeconfig ?? ''}\0${cluster.details.context}\0${namespace}`;
      if (seen.has(where)) continue;
      seen.add(where);
      opts.signal.throwIfAborted();
      for (const pod of await cluster.api.listPods(namespace, MANAGED_SELECTOR)) {
        const owner = ownerOf(pod);
        if (!owner || !pod.metadata?.name) continue;
        if (opts.session && owner.session !== opts.session) continue;
        out.push({
          provider: 'kubernetes',
          kind: 'pod',
          id: pod.metadata.name,
          region: cluster.details.context,
          ...(pod.status?.phase ? { state: pod.status.phase } : {}),
          session: owner.session,
          owner: owner.owner,
          expiresAt: owner.expiresAt,
          ledgerKey: owner.key,
          details: { ...cluster.details, namespace, role: pod.metadata.labels?.[K8S_LABELS.role] ?? '' },
        });
      }
    }
    return out;
  }

  /** Reads the pod back and proves it is this entry's before deleting it; waits until it is gone. */
  async destroy(ref: ResourceRef, signal: AbortSignal): Promise<void> {
    const { cluster, namespace } = this.where(ref);
    const pod = await cluster.api.readPod(namespace, ref.id);
    if (!pod) return;
    if (
      !provesOwnership(pod, {
        ...(ref.ledgerKey ? { key: ref.ledgerKey } : {}),
        ...(ref.session ? { session: ref.session } : {}),
      })
    )
      throw new OwnershipError(
        `pod ${namespace}/${ref.id} does not carry benchyard's identity for ${ref.ledgerKey ?? ref.session ?? 'this entry'} (owner annotation, creator)`,
      );
    await cluster.api.deletePod(namespace, ref.id, 0);
    const deadline = this.ctx.clock.now() + GONE_TIMEOUT_MS;
    for (let look = 0; ; look++) {
      const again = await cluster.api.readPod(namespace, ref.id);
      // A pod of the same name created since is another pod.
      if (!again || again.metadata?.uid !== pod.metadata?.uid) return;
      if (this.ctx.clock.now() > deadline)
        throw new OwnershipError(
          `pod ${namespace}/${ref.id} still exists ${GONE_TIMEOUT_MS / 1000} s after its deletion`,
        );
      await this.ctx.clock.sleep(Math.min(1000, 100 * 2 ** look), signal);
    }
  }

  /** No pod of the namespace carries the entry's key (judged on the annotations read back, not the selector). */
  async absent(ref: ResourceRef, signal: AbortSignal): Promise<boolean> {
    signal.throwIfAborted();
    const key = ref.ledgerKey;
    if (!key) return false;
    let where;
    try {
      where = this.where(ref);
    } catch {
      return false;
    }
    const pods = await where.cluster.api.listPods(where.namespace, MANAGED_SELECTOR);
    return !pods.some(
      (p) => ownerOf(p)?.key === key || p.metadata?.labels?.[K8S_LABELS.key] === labelValue(key),
    );
  }

  private where(ref: ResourceRef) {
    const d = ref.details ?? {};
    const cluster = this.clusters.recorded(d);
    const namespace = typeof d.namespace === 'string' ? d.namespace : undefined;
    if (!cluster || !namespace)
      throw new OwnershipError(
        `kubernetes pod ${ref.id}: the ledger does not say which cluster and namespace hold it`,
      );
    return { cluster, namespace };
  }
}

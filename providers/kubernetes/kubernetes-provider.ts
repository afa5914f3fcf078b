/**
 * Nodes of a Kubernetes cluster, asked of its scheduler. A machine is a node held by a
 * holder pod (`pod-spec.ts`): the ledger entry is written first, the scheduler places the
 * holder by the target's node selector and tolerations (on an exclusive target away from
 * every other holder), and benchyard waits, saying why, while it is Pending. Each
 * repetition is then a benchmark pod pinned to that node (`engine.ts`). A holder that is
 * deleted, evicted or loses its node makes its machine lost: what ran there runs again on
 * another node. Release deletes the machine's pods and the holder and waits until they
 * are gone. The holder's `activeDeadlineSeconds` (the run's maximum lifetime) ends it when
 * benchyard cannot.
 */
import {
  ProvisionError,
  errorMessage,
  machineCountOf,
  recordIntent,
  type Machine,
  type MachineCount,
  type PreflightCheck,
  type PreflightOptions,
  type Provider,
  type ProviderContext,
  type ProvisionStep,
  type ResourceRef,
  type TargetFacts,
  type TargetSpec,
  type TrackedEntry,
} from '../../src/core/index.js';
import type { KubernetesTargetOptions } from '../../src/config/targets/kubernetes.js';
import { refusedCreate, type V1Pod } from './api.js';
import { Clusters, type Cluster } from './clusters.js';
import { KubernetesEngine } from './engine.js';
import { podName, type PodOwner } from './identity.js';
import { deleteEntryPods, nodesWithGpus, podSize, waitHeld } from './holding.js';
import { KubernetesLeftovers } from './leftovers.js';
import { describeNodes, nodeGpus, nodeHardware, selectorOf } from './nodes.js';
import { holderPod, placementOf, type Placement } from './pod-spec.js';
import { podFailure } from './pod-status.js';
import { kubernetesPreflight } from './preflight.js';

interface Held {
  entry: TrackedEntry;
  cluster: Cluster;
  namespace: string;
  holder: string;
  owner: PodOwner;
  lost: AbortController;
  unfollow: () => void;
  releasing: boolean;
}

export class KubernetesProvider implements Provider {
  readonly name = 'kubernetes';
  readonly capabilities = { elastic: true, spot: false, selfTerminate: true };
  private readonly clusters: Clusters;
  private readonly held = new Map<string, Held>();
  private readonly leftovers: KubernetesLeftovers;

  constructor(private readonly ctx: ProviderContext) {
    this.clusters = new Clusters(ctx);
    this.leftovers = new KubernetesLeftovers(ctx, this.clusters);
  }

  capacity(target: TargetSpec): MachineCount {
    return machineCountOf((target.options as KubernetesTargetOptions).nodes);
  }

  /** What one node of the target has: the usable nodes its selector matches, the namespace's GPU quota. */
  async describe(target: TargetSpec): Promise<TargetFacts> {
    const o = target.options as KubernetesTargetOptions;
    const { api } = this.clusters.get(o);
    const [nodes, quotas] = await Promise.all([
      api.listNodes(selectorOf(o.nodeSelector)),
      api.listQuotas(o.namespace),
    ]);
    return describeNodes(nodes, quotas);
  }

  preflight(target: TargetSpec, signal: AbortSignal, opts?: PreflightOptions): Promise<PreflightCheck[]> {
    return kubernetesPreflight(this.clusters, target, signal, opts, this.ctx);
  }

  async acquire(target: TargetSpec, signal: AbortSignal): Promise<Machine> {
    const o = target.options as KubernetesTargetOptions;
    const cluster = this.clusters.get(o);
    const { api } = cluster;
    const nodes = await nodesWithGpus(cluster.api, o, target.gpusPerMachine ?? 0);
    const watch = await cluster.watch(o.namespace, this.ctx.ledger.session);
    const entry = recordIntent(
      this.ctx.ledger,
      {
        provider: this.name,
        kind: 'pod',
        target: target.name,
        region: api.context,
        zone: o.namespace,
        details: { ...cluster.details, namespace: o.namespace },
      },
      new Date(this.ctx.clock.now() + this.ctx.maxLifetimeMs),
    );
    const owner: PodOwner = {
      key: entry.key,
      session: entry.session,
      owner: entry.owner,
      expiresAt: entry.expiresAt,
    };
    const placement = placementOf(o);
    const name = podName('holder', entry.key);
    const provision: Partial<Record<ProvisionStep, number>> = { requested: this.ctx.clock.now() };
    let created = false;
    try {
      const outcome = await entry.create(
        () =>
          api.createPod(
            o.namespace,
            holderPod({
              name,
              owner,
              placement,
              exclusive: o.exclusive,
              image: o.holderImage,
              deadlineSeconds: Math.ceil(this.ctx.maxLifetimeMs / 1000),
              ...(nodes ? { nodes } : {}),
            }),
          ),
        {
          created: () => ({ resourceId: name }),
          notCreated: refusedCreate,
        },
      );
      if (!outcome.created) {
        if (outcome.outcome === 'not-created')
          throw new ProvisionError(
            `kubernetes: the holder pod was refused in ${o.namespace}: ${errorMessage(outcome.error)}`,
            /exceeded quota/i.test(errorMessage(outcome.error)) ? 'QUOTA' : 'INFRA',
          );
        throw outcome.error;
      }
      created = true;
      watch.seen(outcome.answer);
      provision.created = this.ctx.clock.now();
      const pod = await waitHeld(cluster.watchOf(o.namespace)!, name, o, this.ctx, signal);
      provision.running = this.ctx.clock.now();
      return await this.machine(cluster, o, entry, owner, placement, pod, provision);
    } catch (err) {
      if (created || entry.phase === 'unknown')
        await deleteEntryPods(cluster.api, o.namespace, owner.key, this.ctx)
          .then(() => entry.released())
          .catch((e: unknown) => this.ctx.logger.warn(errorMessage(e)));
      await cluster.unwatch(o.namespace);
      throw err;
    } finally {
      entry[Symbol.dispose]();
    }
  }

  private async machine(
    cluster: Cluster,
    o: KubernetesTargetOptions,
    entry: TrackedEntry,
    owner: PodOwner,
    placement: Placement,
    pod: V1Pod,
    provision: Partial<Record<ProvisionStep, number>>,
  ): Promise<Machine> {
    const { api } = cluster;
    const holder = pod.metadata!.name!;
    const node = pod.spec?.nodeName;
    if (!node) throw new ProvisionError(`kubernetes: holder pod ${holder} runs on no node`, 'INFRA');
    const info = await api.readNode(node);
    if (!info) throw new ProvisionError(`kubernetes: node ${node} of holder pod ${holder} is gone`, 'INFRA');
    entry.note({ details: { node } });
    const size = await podSize(cluster.api, o, info, node);
    const labels = info.metadata?.labels ?? {};
    const id = `k8s:${api.context}:${o.namespace}:${holder}`;
    const lost = new AbortController();
    const watch = cluster.watchOf(o.namespace)!;
    const held: Held = {
      entry,
      cluster,
      namespace: o.namespace,
      holder,
      owner,
      lost,
      releasing: false,
      unfollow: () => {},
    };
    held.unfollow = watch.follow(holder, (p) => {
      if (held.releasing) return;
      const why = !p
        ? `holder pod ${holder} was deleted`
        : (podFailure(p) ??
          (p.status?.phase !== 'Running' ? `holder pod ${holder} is ${p.status?.phase}` : undefined));
      if (why) lost.abort(new Error(`kubernetes: ${why} (node ${node})`));
    });
    this.held.set(id, held);
    const engine = new KubernetesEngine({
      api,
      watch,
      namespace: o.namespace,
      clock: this.ctx.clock,
      logger: this.ctx.logger,
      ...(this.ctx.progress ? { progress: this.ctx.progress } : {}),
      scheduleTimeoutMs: o.scheduleTimeout,
      node,
      holder,
      owner,
      placement,
      exclusive: o.exclusive,
      resources: { ...size, nodeGpus: nodeGpus(info) },
      ...(info.status?.nodeInfo?.kubeletVersion ? { version: info.status.nodeInfo.kubeletVersion } : {}),
    });
    const hardware = nodeHardware(info);
    this.ctx.logger.info(
      `kubernetes: holding node ${node} (${holder}); benchmark pods get ${size.milliCpu}m CPU, ${Math.round(size.memoryBytes / 2 ** 20)} MiB`,
    );
    return {
      id,
      provider: this.name,
      instanceType:
        labels['node.kubernetes.io/instance-type'] ?? labels['beta.kubernetes.io/instance-type'] ?? node,
      region: labels['topology.kubernetes.io/region'] ?? api.context,
      zone: labels['topology.kubernetes.io/zone'] ?? o.namespace,
      hostname: node,
      engine,
      localCgroups: false,
      revoked: lost.signal,
      hardware,
      placement: {
        cluster: api.context,
        namespace: o.namespace,
        node,
        pod: holder,
        cpu: `${size.milliCpu}m`,
        memory: String(size.memoryBytes),
        ...(hardware.gpus?.length
          ? { gpus: hardware.gpus.map((g) => `${g.count}× ${g.model}`).join(', ') }
          : {}),
      },
      provision,
    };
  }

  async release(machine: Machine, signal: AbortSignal): Promise<void> {
    const held = this.held.get(machine.id);
    if (!held) return;
    held.releasing = true;
    held.unfollow();
    this.held.delete(machine.id);
    held.entry.releasing();
    try {
      signal.throwIfAborted();
      await deleteEntryPods(held.cluster.api, held.namespace, held.owner.key, this.ctx);
      held.entry.released();
    } finally {
      await held.cluster.unwatch(held.namespace);
    }
  }

  discover(opts: {
    session?: string;
    hints: readonly ResourceRef[];
    signal: AbortSignal;
  }): Promise<ResourceRef[]> {
    return this.leftovers.discover(opts);
  }

  destroy(ref: ResourceRef, signal: AbortSignal): Promise<void> {
    return this.leftovers.destroy(ref, signal);
  }

  absent(ref: ResourceRef, signal: AbortSignal): Promise<boolean> {
    return this.leftovers.absent(ref, signal);
  }

  /** Stops the pod watches (the composition root calls this at the end of a run). */
  async close(): Promise<void> {
    await this.clusters.close();
  }
}

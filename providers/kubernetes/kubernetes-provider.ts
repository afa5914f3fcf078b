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
  InfrastructureError,
  ProvisionError,
  errorMessage,
  machineCountOf,
  recordIntent,
  type Machine,
  type MachineCount,
  type PreflightCheck,
  type Provider,
  type ProviderContext,
  type ProvisionStep,
  type ResourceRef,
  type TargetFacts,
  type TargetSpec,
  type TrackedEntry,
} from '../../src/core/index.js';
import type { KubernetesTargetOptions } from '../../src/config/targets/kubernetes.js';
import { statusCode, type V1Pod } from './api.js';
import { Clusters, type Cluster } from './clusters.js';
import { KubernetesEngine } from './engine.js';
import { K8S_LABELS, labelValue, MANAGED_BY, podName, type PodOwner } from './identity.js';
import { KubernetesLeftovers } from './leftovers.js';
import {
  defaultSize,
  describeNodes,
  nodeGpus,
  nodeHardware,
  nodeLeft,
  quantity,
  selectorOf,
} from './nodes.js';
import { holderPod, type Placement } from './pod-spec.js';
import { podFailure, waitingOf } from './pod-status.js';
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

/** How long release waits for the machine's pods to be gone. */
const GONE_TIMEOUT_MS = 120_000;

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

  preflight(target: TargetSpec, signal: AbortSignal): Promise<PreflightCheck[]> {
    return kubernetesPreflight(this.clusters, target, signal);
  }

  async acquire(target: TargetSpec, signal: AbortSignal): Promise<Machine> {
    const o = target.options as KubernetesTargetOptions;
    const cluster = this.clusters.get(o);
    const { api } = cluster;
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
            }),
          ),
        {
          created: () => ({ resourceId: name }),
          // The API server refused it (bad spec, forbidden, quota, no such namespace): nothing exists.
          notCreated: (err) => {
            const code = statusCode((err as { cause?: unknown }).cause);
            return code !== undefined && code >= 400 && code < 500 ? errorMessage(err) : undefined;
          },
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
      const pod = await this.holding(cluster, o, name, signal);
      provision.running = this.ctx.clock.now();
      return await this.machine(cluster, o, entry, owner, placement, pod, provision);
    } catch (err) {
      if (created || entry.phase === 'unknown')
        await this.deleteAll(cluster, o.namespace, owner, entry).catch((e: unknown) =>
          this.ctx.logger.warn(errorMessage(e)),
        );
      await cluster.unwatch(o.namespace);
      throw err;
    } finally {
      entry[Symbol.dispose]();
    }
  }

  /** Waits until the holder runs, saying why it waits whenever that changes. */
  private holding(
    cluster: Cluster,
    o: KubernetesTargetOptions,
    name: string,
    signal: AbortSignal,
  ): Promise<V1Pod> {
    const watch = cluster.watchOf(o.namespace)!;
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
          (this.ctx.progress ?? this.ctx.logger.info)(
            `kubernetes: waiting for a node in ${o.namespace} (${name}): ${w.reason}`,
          );
        }
      };
      const onAbort = () => finish(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      const unfollow = watch.follow(name, check);
      signal.addEventListener('abort', onAbort, { once: true });
      if (o.holdTimeout !== undefined)
        this.ctx.clock.sleep(o.holdTimeout, timer.signal).then(
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
    const size = await this.size(cluster, o, info, node);
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

  /** The benchmark pods' CPU and memory: the target's, else what the node has left once held. */
  private async size(
    cluster: Cluster,
    o: KubernetesTargetOptions,
    node: Parameters<typeof nodeLeft>[0],
    name: string,
  ) {
    const cpu = quantity(o.cpu);
    const memory = quantity(o.memory);
    if (cpu !== undefined && memory !== undefined)
      return { milliCpu: Math.round(cpu * 1000), memoryBytes: Math.floor(memory) };
    let left: { milliCpu: number; memoryBytes: number };
    try {
      left = defaultSize(nodeLeft(node, await cluster.api.listNodePods(name)));
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

  async release(machine: Machine, signal: AbortSignal): Promise<void> {
    const held = this.held.get(machine.id);
    if (!held) return;
    held.releasing = true;
    held.unfollow();
    this.held.delete(machine.id);
    held.entry.releasing();
    try {
      signal.throwIfAborted();
      await this.deleteAll(held.cluster, held.namespace, held.owner, held.entry);
    } finally {
      await held.cluster.unwatch(held.namespace);
    }
  }

  /** Deletes every pod of the entry (benchmarks, agent, holder), waits until they are gone, then closes the entry. */
  private async deleteAll(
    cluster: Cluster,
    namespace: string,
    owner: PodOwner,
    entry: TrackedEntry,
  ): Promise<void> {
    const selector = `${K8S_LABELS.managedBy}=${MANAGED_BY},${K8S_LABELS.key}=${labelValue(owner.key)}`;
    const deadline = this.ctx.clock.now() + GONE_TIMEOUT_MS;
    for (let look = 0; ; look++) {
      const pods = (await cluster.api.listPods(namespace, selector)).filter((p) =>
        p.metadata?.annotations?.['benchyard.io/owner']?.includes(`"key":${JSON.stringify(owner.key)}`),
      );
      if (pods.length === 0) break;
      if (this.ctx.clock.now() > deadline)
        throw new InfrastructureError(
          `kubernetes: pods of ${entry.key} still exist ${GONE_TIMEOUT_MS / 1000} s after their deletion: ${pods.map((p) => p.metadata?.name).join(', ')}`,
        );
      await Promise.all(
        pods
          .filter((p) => !p.metadata?.deletionTimestamp || look === 0)
          .map((p) => cluster.api.deletePod(namespace, p.metadata!.name!, 0)),
      );
      await this.ctx.clock.sleep(Math.min(1000, 100 * 2 ** look));
    }
    entry.released();
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

function placementOf(o: KubernetesTargetOptions): Placement {
  return {
    nodeSelector: o.nodeSelector,
    tolerations: o.tolerations,
    imagePullSecrets: o.imagePullSecrets,
    ...(o.priorityClassName ? { priorityClassName: o.priorityClassName } : {}),
  };
}

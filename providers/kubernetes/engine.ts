/**
 * The engine port over one node of a cluster held by a holder pod: a container is a
 * benchmark pod pinned to that node (`PodContainer`); images are pulled by the node from
 * the run's registry by digest (`pullsFromRegistry`: the fleet pushes them and asks
 * `image()` for the reference); the metrics agent is a pod on the node spoken to over its
 * attach stream (`startAgent`).
 */
import { PassThrough } from 'node:stream';
import {
  InfrastructureError,
  errorMessage,
  type AgentChannel,
  type AgentLaunch,
  type ContainerSpec,
  type Engine,
  type EngineContainer,
  type EngineEvent,
  type EngineIdentity,
  type ImageInfo,
} from '../../src/core/index.js';
import type { V1Pod } from './api.js';
import {
  containerLabelsOf,
  K8S_LABELS,
  labelValue,
  ownerLabelsOf,
  podName,
  provesOwnership,
  type PodOwner,
} from './identity.js';
import { podEvents } from './pod-events.js';
import { PodContainer, type PodContext } from './pod-container.js';
import { AGENT_CONTAINER, agentPod, benchmarkPod, type Placement, type PodResources } from './pod-spec.js';
import { podFailure, startedOf, waitingOf } from './pod-status.js';

/** A digest reference a node can pull: `host[:port]/repo@sha256:<64 hex>`. */
const DIGEST_REF = /^[^@\s]+@sha256:[0-9a-f]{64}$/;

/** Seconds a benchmark pod outlives its repetition's timeout before the cluster ends it itself. */
const DEADLINE_GRACE_S = 3600;

export interface NodeEngineOptions extends PodContext {
  node: string;
  holder: string;
  owner: PodOwner;
  placement: Placement;
  exclusive: boolean;
  resources: PodResources;
  /** Timeout of the repetition a pod runs, to set its deadline (the spec's expiry label says it). */
  version?: string;
}

export class KubernetesEngine implements Engine {
  readonly kind = 'kubernetes';
  readonly pullsFromRegistry = true;

  constructor(private readonly o: NodeEngineOptions) {}

  async ping(timeoutMs: number): Promise<boolean> {
    const timer = new AbortController();
    try {
      const pod = await Promise.race([
        this.o.api.readPod(this.o.namespace, this.o.holder),
        this.o.clock.sleep(timeoutMs, timer.signal).then(() => undefined),
      ]);
      return Boolean(pod && pod.status?.phase === 'Running');
    } catch {
      return false;
    } finally {
      timer.abort();
    }
  }

  async identity(): Promise<EngineIdentity> {
    return {
      id: `${this.o.api.server}#${this.o.node}`,
      name: this.o.node,
      ...(this.o.version ? { version: this.o.version } : {}),
    };
  }

  async create(spec: ContainerSpec): Promise<EngineContainer> {
    const expires = Date.parse(spec.labels['io.benchyard.expires-at'] ?? '');
    const deadline = Number.isFinite(expires)
      ? Math.max(60, Math.ceil((expires - this.o.clock.now()) / 1000))
      : DEADLINE_GRACE_S;
    const pod = benchmarkPod({
      name: podName('benchmark', this.o.owner.key),
      owner: this.o.owner,
      placement: this.o.placement,
      node: this.o.node,
      exclusive: this.o.exclusive,
      spec,
      resources: this.o.resources,
      deadlineSeconds: deadline,
    });
    const created = await this.o.api.createPod(this.o.namespace, pod);
    return new PodContainer(this.o, created, spec.afterExit ?? []);
  }

  /** Only digest references exist for a cluster: what its nodes pull is exactly what was pushed. */
  async image(ref: string): Promise<ImageInfo | undefined> {
    if (!DIGEST_REF.test(ref)) return undefined;
    return { ref, digest: ref.slice(ref.indexOf('@') + 1), id: ref, sizeBytes: 0 };
  }

  async removeLabelled(labels: readonly string[]): Promise<number> {
    const pods = await this.o.api.listPods(
      this.o.namespace,
      `${K8S_LABELS.managedBy}=benchyard,${K8S_LABELS.key}=${ownerLabelsOf(this.o.owner, 'benchmark')[K8S_LABELS.key]}`,
    );
    const want = labels.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const);
    const mine = pods.filter((p) => {
      const own = containerLabelsOf(p);
      return (
        p.metadata?.labels?.[K8S_LABELS.role] !== 'holder' &&
        provesOwnership(p, { key: this.o.owner.key }) &&
        want.every(([k, v]) => own[k] === v)
      );
    });
    await Promise.all(mine.map((p) => this.o.api.deletePod(this.o.namespace, p.metadata!.name!, 0)));
    return mine.length;
  }

  events(publish: (event: EngineEvent) => void): { close(): void } {
    return podEvents(this.o.watch, labelValue(this.o.owner.key), () => this.o.clock.now(), publish);
  }

  async startAgent(launch: AgentLaunch, signal: AbortSignal): Promise<AgentChannel> {
    const pod = agentPod({
      name: podName('agent', this.o.owner.key),
      owner: this.o.owner,
      placement: this.o.placement,
      node: this.o.node,
      image: launch.image,
      args: launch.args,
      labels: launch.labels,
    });
    const name = pod.metadata!.name!;
    const created = await this.o.api.createPod(this.o.namespace, pod);
    this.o.watch.seen(created);
    try {
      await this.running(name, signal);
      return await this.attachAgent(name);
    } catch (err) {
      await this.o.api.deletePod(this.o.namespace, name, 0).catch(() => undefined);
      throw err;
    }
  }

  private running(name: string, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const check = (pod: V1Pod | undefined) => {
        let err: Error | undefined;
        if (!pod) err = new InfrastructureError(`the metrics agent pod ${name} was deleted before it ran`);
        else if (startedOf(pod, AGENT_CONTAINER)) return done();
        else if (podFailure(pod))
          err = new InfrastructureError(`the metrics agent pod ${name} ended: ${podFailure(pod)}`);
        else if (waitingOf(pod, AGENT_CONTAINER)?.hopeless)
          err = new InfrastructureError(
            `the metrics agent pod ${name} cannot start: ${waitingOf(pod, AGENT_CONTAINER)!.reason}`,
          );
        if (err) done(err);
      };
      const onAbort = () => done(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      const unfollow = this.o.watch.follow(name, check);
      const done = (err?: Error) => {
        unfollow();
        signal.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      const now = this.o.watch.current(name);
      if (now) check(now);
    });
  }

  private async attachAgent(name: string): Promise<AgentChannel> {
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const stream = await this.o.api.attach(this.o.namespace, name, AGENT_CONTAINER, {
      stdin,
      stdout,
      stderr,
    });
    // The pod's shell waits for this line before it starts the agent (pod-spec.ts).
    stdin.write('\n');
    const { api, namespace, logger } = this.o;
    let closing: Promise<void> | undefined;
    return {
      write: (text) => void stdin.write(text),
      onOutput: (out, err) => {
        stdout.on('data', out);
        stderr.on('data', err);
      },
      closed: stream.done,
      close: () =>
        (closing ??= (async () => {
          stdin.end();
          stream.stop();
          await api
            .deletePod(namespace, name, 0)
            .catch((e: unknown) => logger.warn(`kubernetes: deleting agent pod ${name}: ${errorMessage(e)}`));
        })()),
    };
  }
}

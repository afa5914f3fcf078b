/**
 * One watch per namespace on a session's pods (label selector), shared by every pod of the
 * session there: each change is handed to the listeners of that pod by name. The watch is
 * list-then-watch from the list's resourceVersion; when the server ends it (its timeout, a
 * `410 Gone`, a broken connection) it lists again and hands over what changed meanwhile —
 * a pod missing from the new list is reported deleted — then watches again. A pod deleted
 * from outside is therefore always seen, at worst one relist later.
 */
import { errorMessage, type Clock, type Logger } from '../../src/core/index.js';
import type { KubeApi, KubeStream, V1Pod } from './api.js';

export type PodListener = (pod: V1Pod | undefined) => void;

export class PodWatch {
  private readonly pods = new Map<string, V1Pod>();
  /** When each pod was first seen: a list begun before that cannot know it, so cannot report it gone. */
  private readonly since = new Map<string, number>();
  private readonly listeners = new Map<string, Set<PodListener>>();
  private readonly everyPod = new Set<(name: string, pod: V1Pod | undefined) => void>();
  private stream: KubeStream | undefined;
  private stopped = false;
  private readonly stopping = new AbortController();
  private running: Promise<void> | undefined;
  private ready: Promise<void> | undefined;

  constructor(
    private readonly api: KubeApi,
    private readonly namespace: string,
    private readonly selector: string,
    private readonly deps: { clock: Clock; logger: Logger; retryMs?: number },
  ) {}

  /** Resolves once the first list is in. */
  start(): Promise<void> {
    if (!this.ready) {
      let first!: () => void;
      let failed!: (err: unknown) => void;
      this.ready = new Promise<void>((resolve, reject) => ((first = resolve), (failed = reject)));
      this.running = this.loop(first, failed);
    }
    return this.ready;
  }

  /** The pod as last seen; `undefined`: not seen (or deleted). */
  current(name: string): V1Pod | undefined {
    return this.pods.get(name);
  }

  /** Calls `listener` on each change of the pod (with `undefined` once it is deleted); answers the unsubscribe. */
  follow(name: string, listener: PodListener): () => void {
    let set = this.listeners.get(name);
    if (!set) this.listeners.set(name, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(name);
    };
  }

  /** Calls `listener` on each change of every pod (`undefined`: deleted); answers the unsubscribe. */
  onAny(listener: (name: string, pod: V1Pod | undefined) => void): () => void {
    this.everyPod.add(listener);
    return () => void this.everyPod.delete(listener);
  }

  /** Tells the watch about a pod it may not have seen yet (the create call's answer). */
  seen(pod: V1Pod): void {
    const name = pod.metadata?.name;
    if (name && !this.pods.has(name)) {
      this.pods.set(name, pod);
      this.since.set(name, this.deps.clock.now());
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping.abort();
    this.stream?.stop();
    await this.running?.catch(() => undefined);
  }

  private async loop(first: () => void, failed: (err: unknown) => void): Promise<void> {
    let isFirst = true;
    while (!this.stopped) {
      try {
        const listedAt = this.deps.clock.now();
        const { pods, version } = await this.api.listPodsVersioned(this.namespace, this.selector);
        this.reconcile(pods, listedAt);
        if (isFirst) first();
        isFirst = false;
        if (this.stopped) return;
        this.stream = await this.api.watchPods(this.namespace, this.selector, version, (c) => {
          const name = c.pod.metadata?.name;
          if (!name) return;
          if (c.type === 'DELETED') this.gone(name);
          else this.update(name, c.pod);
        });
        await this.stream.done;
      } catch (err) {
        if (isFirst) return failed(err);
        if (this.stopped) return;
        this.deps.logger.debug(
          `kubernetes: pod watch in ${this.namespace} ended: ${errorMessage(err)}; listing again`,
        );
        await this.deps.clock.sleep(this.deps.retryMs ?? 1000, this.stopping.signal).catch(() => undefined);
      }
    }
  }

  private reconcile(pods: readonly V1Pod[], listedAt: number): void {
    const names = new Set<string>();
    for (const pod of pods) {
      const name = pod.metadata?.name;
      if (!name) continue;
      names.add(name);
      if (this.pods.get(name)?.metadata?.resourceVersion !== pod.metadata?.resourceVersion)
        this.update(name, pod);
    }
    for (const name of [...this.pods.keys()])
      if (!names.has(name) && (this.since.get(name) ?? -Infinity) < listedAt) this.gone(name);
  }

  private update(name: string, pod: V1Pod): void {
    this.pods.set(name, pod);
    for (const l of this.listeners.get(name) ?? []) l(pod);
    for (const l of this.everyPod) l(name, pod);
  }

  private gone(name: string): void {
    this.pods.delete(name);
    this.since.delete(name);
    for (const l of this.listeners.get(name) ?? []) l(undefined);
    for (const l of this.everyPod) l(name, undefined);
  }
}

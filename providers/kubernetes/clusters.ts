/**
 * The clusters a controller talks to: one API client per kubeconfig and context, and one
 * pod watch per namespace on this session's pods, held while a machine there is (counted):
 * the last release stops it, so nothing keeps the process alive after a run.
 */
import type { ProviderContext } from '../../src/core/index.js';
import type { KubernetesTargetOptions } from '../../src/config/targets/kubernetes.js';
import { clientApi, loadKubeConfig, type KubeApi } from './api.js';
import { sessionSelector } from './identity.js';
import { PodWatch } from './pod-watch.js';

export interface Cluster {
  api: KubeApi;
  /** What the ledger records to reach it again (gc): the context and the kubeconfig file, if one was named. */
  details: { context: string; kubeconfig?: string };
  /** The session's pod watch in `namespace`, started (and counted) on first use. */
  watch(namespace: string, session: string): Promise<PodWatch>;
  watchOf(namespace: string): PodWatch | undefined;
  /** One user of `namespace`'s watch less; the last stops it. */
  unwatch(namespace: string): Promise<void>;
}

/** Builds the API of a kubeconfig and context; tests inject a fake. */
export type ApiFactory = (o: { context?: string; kubeconfig?: string }) => KubeApi;

export class Clusters {
  private readonly byKey = new Map<string, Cluster>();
  private readonly stops = new Set<() => Promise<void>>();

  constructor(
    private readonly ctx: ProviderContext,
    private readonly factory: ApiFactory = (o) => clientApi(loadKubeConfig(o.context, o.kubeconfig)),
  ) {}

  get(o: Pick<KubernetesTargetOptions, 'context' | 'kubeconfig'>): Cluster {
    const key = `${o.kubeconfig ?? ''}\0${o.context ?? ''}`;
    let c = this.byKey.get(key);
    if (!c) this.byKey.set(key, (c = this.make(o)));
    return c;
  }

  /** From what the ledger recorded (gc); `undefined` when it names no context. */
  recorded(details: Readonly<Record<string, unknown>>): Cluster | undefined {
    if (typeof details.context !== 'string') return undefined;
    return this.get({
      context: details.context,
      ...(typeof details.kubeconfig === 'string' ? { kubeconfig: details.kubeconfig } : {}),
    });
  }

  async close(): Promise<void> {
    await Promise.all([...this.stops].map((s) => s()));
  }

  private make(o: Pick<KubernetesTargetOptions, 'context' | 'kubeconfig'>): Cluster {
    const api = this.factory(o);
    const watches = new Map<string, { watch: PodWatch; users: number }>();
    const stop = async (namespace: string) => {
      const w = watches.get(namespace);
      if (!w) return;
      watches.delete(namespace);
      await w.watch.stop();
    };
    this.stops.add(async () => {
      for (const ns of [...watches.keys()]) await stop(ns);
    });
    return {
      api,
      details: { context: api.context, ...(o.kubeconfig ? { kubeconfig: o.kubeconfig } : {}) },
      watch: async (namespace, session) => {
        let w = watches.get(namespace);
        if (!w) {
          w = {
            watch: new PodWatch(api, namespace, sessionSelector(session), {
              clock: this.ctx.clock,
              logger: this.ctx.logger,
            }),
            users: 0,
          };
          watches.set(namespace, w);
        }
        w.users++;
        try {
          await w.watch.start();
        } catch (err) {
          if (--w.users === 0) await stop(namespace);
          throw err;
        }
        return w.watch;
      },
      watchOf: (namespace) => watches.get(namespace)?.watch,
      unwatch: async (namespace) => {
        const w = watches.get(namespace);
        if (w && --w.users <= 0) await stop(namespace);
      },
    };
  }
}

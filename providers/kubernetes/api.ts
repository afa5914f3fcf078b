/**
 * What benchyard asks of a Kubernetes cluster, as one small port (`KubeApi`) over the
 * official client (@kubernetes/client-node): pods (create, read, list, delete, watch), their
 * log, exec and attach streams, nodes, quotas, events and access reviews. The provider and
 * its engine talk only to this port, so their logic runs over fakes in unit tests; the
 * adapter (`clientApi`) only translates, and turns the client's errors into
 * `InfrastructureError`s (404 on read and delete answers `undefined` / resolves).
 */
import {
  ApiException,
  Attach,
  AuthorizationV1Api,
  CoreV1Api,
  Exec,
  KubeConfig,
  Log,
  Watch,
  type CoreV1Event,
  type V1Node,
  type V1Pod,
  type V1ResourceQuota,
  type V1Status,
} from '@kubernetes/client-node';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Writable, type Readable } from 'node:stream';
import { InfrastructureError, InputError, errorMessage } from '../../src/core/index.js';

export type { CoreV1Event, V1Node, V1Pod, V1ResourceQuota };
export type { V1ContainerStatus, V1Toleration } from '@kubernetes/client-node';

/** The field manager benchyard creates pods as (recorded in their managedFields). */
export const FIELD_MANAGER = 'benchyard';

/** One change of a watched pod: `DELETED` carries the pod's last state. */
export type PodChange = { type: 'ADDED' | 'MODIFIED' | 'DELETED'; pod: V1Pod };

/** A running stream (a log follow, an exec, an attach): `done` settles when it ends. */
export interface KubeStream {
  done: Promise<void>;
  stop(): void;
}

export interface AttachStreams {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
}

export interface KubeApi {
  /** The context's name and its cluster's server, as the kubeconfig says. */
  readonly context: string;
  readonly server: string;
  createPod(namespace: string, pod: V1Pod): Promise<V1Pod>;
  readPod(namespace: string, name: string): Promise<V1Pod | undefined>;
  listPods(namespace: string, labelSelector: string): Promise<V1Pod[]>;
  /** Resolves also when it is gone already. */
  deletePod(namespace: string, name: string, graceSeconds: number): Promise<void>;
  /** Follows the pods matching the selector from `resourceVersion`; `done` settles when the server ends it. */
  watchPods(
    namespace: string,
    labelSelector: string,
    resourceVersion: string | undefined,
    onChange: (c: PodChange) => void,
  ): Promise<KubeStream>;
  /** The pods' list with its resourceVersion, for a watch to start from. */
  listPodsVersioned(namespace: string, labelSelector: string): Promise<{ pods: V1Pod[]; version?: string }>;
  /** The container's log from its start, followed until it ends; stdout and stderr interleaved. */
  followLog(namespace: string, pod: string, container: string, out: Writable): Promise<KubeStream>;
  /** Runs `argv` in the container; answers its exit code (the status channel's). */
  exec(
    namespace: string,
    pod: string,
    container: string,
    argv: readonly string[],
    stdout: Writable,
  ): Promise<number>;
  attach(namespace: string, pod: string, container: string, streams: AttachStreams): Promise<KubeStream>;
  listNodes(labelSelector?: string): Promise<V1Node[]>;
  readNode(name: string): Promise<V1Node | undefined>;
  /** Every pod bound to the node, in all namespaces (what it has left to give); needs cluster-wide pod list. */
  listNodePods(node: string): Promise<V1Pod[]>;
  listQuotas(namespace: string): Promise<V1ResourceQuota[]>;
  listEvents(namespace: string, fieldSelector: string): Promise<CoreV1Event[]>;
  /** SelfSubjectAccessReview: may the context's user do `verb` on `resource[/subresource]` in `namespace`? */
  canI(
    namespace: string | undefined,
    verb: string,
    resource: string,
    subresource?: string,
  ): Promise<{ allowed: boolean; reason?: string }>;
}

/** A pod's own service-account token: inside a cluster the client uses it. */
const IN_CLUSTER_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/** The kubeconfig (`KUBECONFIG` or ~/.kube/config, as kubectl reads it, or `file`) at `context`. */
export function loadKubeConfig(
  context: string | undefined,
  file?: string,
  env: { KUBECONFIG?: string; HOME?: string } = process.env,
): KubeConfig {
  const kc = new KubeConfig();
  // With none of these the client would make up a context for http://localhost:8080.
  const home = path.join(env.HOME ?? os.homedir(), '.kube', 'config');
  if (!file && !env.KUBECONFIG && !existsSync(home) && !existsSync(IN_CLUSTER_TOKEN))
    throw new InputError(
      `no kubeconfig: KUBECONFIG is not set and ${home} does not exist (set 'kubeconfig:' on the target, KUBECONFIG, or run where kubectl works)`,
    );
  try {
    if (file) kc.loadFromFile(file);
    else kc.loadFromDefault();
  } catch (err) {
    throw new InputError(`cannot read the kubeconfig${file ? ` ${file}` : ''}: ${errorMessage(err)}`);
  }
  if (context) {
    if (!kc.getContextObject(context))
      throw new InputError(
        `kubeconfig has no context '${context}' (it has: ${
          kc
            .getContexts()
            .map((c) => c.name)
            .join(', ') || 'none'
        })`,
      );
    kc.setCurrentContext(context);
  }
  if (!kc.getCurrentCluster())
    throw new InputError(
      `kubeconfig names no cluster for context '${kc.getCurrentContext() || '(none)'}': set 'context:' or KUBECONFIG`,
    );
  return kc;
}

/** What the API server said, as one line: its Status message where it sent one. */
export function apiMessage(err: unknown): string {
  if (err instanceof ApiException) {
    const body = err.body as unknown;
    const parsed = typeof body === 'string' ? safeJson(body) : body;
    const message = (parsed as { message?: string } | undefined)?.message;
    const fallback =
      err.code === 401 ? "Unauthorized (the API server refused the kubeconfig's credentials)" : '';
    return `HTTP ${err.code}${message || fallback ? `: ${message || fallback}` : ''}`;
  }
  // fetch says only `fetch failed`; why (refused, a bad certificate, no such host) is its cause.
  const cause = (err as { cause?: unknown } | undefined)?.cause;
  if (err instanceof Error && cause instanceof Error && cause.message && !err.message.includes(cause.message))
    return `${errorMessage(err)}: ${errorMessage(cause)}`;
  return errorMessage(err);
}

/**
 * A create the API server refused (bad spec, forbidden, quota, no such namespace: a 4xx),
 * which created nothing: its message; `undefined` when the object may exist.
 */
export function refusedCreate(err: unknown): string | undefined {
  const code = statusCode((err as { cause?: unknown }).cause);
  return code !== undefined && code >= 400 && code < 500 ? errorMessage(err) : undefined;
}

export function statusCode(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { message: text.slice(0, 300) };
  }
}

function fail(what: string, err: unknown): InfrastructureError {
  return new InfrastructureError(
    `kubernetes: ${what}: ${apiMessage(err)}`,
    { status: statusCode(err) },
    { cause: err },
  );
}

export function clientApi(kc: KubeConfig): KubeApi {
  const core = kc.makeApiClient(CoreV1Api);
  const authz = kc.makeApiClient(AuthorizationV1Api);
  const exec = new Exec(kc);
  const attach = new Attach(kc);
  const log = new Log(kc);
  const watch = new Watch(kc);
  const wrap = async <T>(what: string, call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (err) {
      throw fail(what, err);
    }
  };
  return {
    context: kc.getCurrentContext(),
    server: kc.getCurrentCluster()?.server ?? '',
    // The field manager is recorded in the pod's managedFields: gc checks it before a delete.
    createPod: (namespace, body) =>
      wrap(`creating pod in ${namespace}`, () =>
        core.createNamespacedPod({ namespace, body, fieldManager: FIELD_MANAGER }),
      ),
    readPod: async (namespace, name) => {
      try {
        return await core.readNamespacedPod({ namespace, name });
      } catch (err) {
        if (statusCode(err) === 404) return undefined;
        throw fail(`reading pod ${namespace}/${name}`, err);
      }
    },
    listPods: async (namespace, labelSelector) =>
      (await wrap(`listing pods in ${namespace}`, () => core.listNamespacedPod({ namespace, labelSelector })))
        .items,
    listPodsVersioned: async (namespace, labelSelector) => {
      const list = await wrap(`listing pods in ${namespace}`, () =>
        core.listNamespacedPod({ namespace, labelSelector }),
      );
      return {
        pods: list.items,
        ...(list.metadata?.resourceVersion ? { version: list.metadata.resourceVersion } : {}),
      };
    },
    deletePod: async (namespace, name, gracePeriodSeconds) => {
      try {
        await core.deleteNamespacedPod({ namespace, name, gracePeriodSeconds });
      } catch (err) {
        if (statusCode(err) === 404) return;
        throw fail(`deleting pod ${namespace}/${name}`, err);
      }
    },
    watchPods: async (namespace, labelSelector, resourceVersion, onChange) => {
      let settle!: (err?: unknown) => void;
      const done = new Promise<void>((resolve, reject) => {
        settle = (err) => (err ? reject(fail(`watching pods in ${namespace}`, err)) : resolve());
      });
      const abort = await watch.watch(
        `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`,
        { labelSelector, allowWatchBookmarks: false, ...(resourceVersion ? { resourceVersion } : {}) },
        (type, obj: V1Pod) => {
          if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') onChange({ type, pod: obj });
        },
        (err: unknown) => settle(err ?? undefined),
      );
      return { done, stop: () => abort.abort() };
    },
    followLog: async (namespace, pod, container, out) => {
      const ended = streamEnd(out);
      const abort = await wrap(`following the log of ${namespace}/${pod}`, () =>
        log.log(namespace, pod, container, out, { follow: true, pretty: false, timestamps: false }),
      );
      return { done: ended, stop: () => abort.abort() };
    },
    exec: async (namespace, pod, container, argv, stdout) => {
      let status: V1Status | undefined;
      const stderr = new PassThrough();
      let errText = '';
      stderr.on('data', (c: Buffer) => (errText = (errText + c.toString()).slice(-2000)));
      const ws = await wrap(`exec in ${namespace}/${pod}`, () =>
        exec.exec(namespace, pod, container, [...argv], stdout, stderr, null, false, (s) => (status = s)),
      );
      await new Promise<void>((resolve) => ws.once('close', () => resolve()));
      stdout.end();
      if (!status)
        throw new InfrastructureError(
          `kubernetes: exec in ${namespace}/${pod} ended without a status${errText ? `: ${errText.trim()}` : ''}`,
        );
      return exitCodeOf(status);
    },
    attach: async (namespace, pod, container, s) => {
      const ws = await wrap(`attaching to ${namespace}/${pod}`, () =>
        attach.attach(namespace, pod, container, s.stdout, s.stderr, s.stdin, false),
      );
      const done = new Promise<void>((resolve) => ws.once('close', () => resolve()));
      return { done, stop: () => ws.close() };
    },
    listNodes: async (labelSelector) =>
      (await wrap('listing nodes', () => core.listNode(labelSelector ? { labelSelector } : {}))).items,
    readNode: async (name) => {
      try {
        return await core.readNode({ name });
      } catch (err) {
        if (statusCode(err) === 404) return undefined;
        throw fail(`reading node ${name}`, err);
      }
    },
    listNodePods: async (node) =>
      (
        await wrap(`listing the pods of node ${node}`, () =>
          core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${node}` }),
        )
      ).items,
    listQuotas: async (namespace) =>
      (
        await wrap(`listing resource quotas in ${namespace}`, () =>
          core.listNamespacedResourceQuota({ namespace }),
        )
      ).items,
    listEvents: async (namespace, fieldSelector) =>
      (
        await wrap(`listing events in ${namespace}`, () =>
          core.listNamespacedEvent({ namespace, fieldSelector }),
        )
      ).items,
    canI: async (namespace, verb, resource, subresource) => {
      const review = await wrap(`asking whether it may ${verb} ${resource}`, () =>
        authz.createSelfSubjectAccessReview({
          body: {
            apiVersion: 'authorization.k8s.io/v1',
            kind: 'SelfSubjectAccessReview',
            spec: {
              resourceAttributes: {
                verb,
                resource,
                ...(subresource ? { subresource } : {}),
                ...(namespace ? { namespace } : {}),
              },
            },
          },
        }),
      );
      return {
        allowed: review.status?.allowed === true,
        ...(review.status?.reason ? { reason: review.status.reason } : {}),
      };
    },
  };
}

/** The exit code a Status of the exec protocol's error channel carries (0 for Success). */
export function exitCodeOf(status: V1Status): number {
  if (status.status === 'Success') return 0;
  const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
  const code = Number(cause?.message);
  if (Number.isInteger(code)) return code;
  throw new InfrastructureError(
    `kubernetes: exec failed: ${status.message ?? status.reason ?? 'no reason given'}`,
  );
}

/** Settles when the writable has been ended (the log stream ends it) or errored. */
function streamEnd(out: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    out.once('finish', () => resolve());
    out.once('close', () => resolve());
    out.once('error', reject);
  });
}

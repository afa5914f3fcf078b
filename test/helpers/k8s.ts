/**
 * The one-node test cluster `scripts/services up k8s` runs on this machine (Kubernetes
 * v1.34.4 built here; node benchyard-k8s-node with two fake GPUs, `nvidia.com/gpu: 2`, from
 * a real device plugin). Its coordinates come from `scripts/services env k8s`, as a user
 * would get them: the admin kubeconfig, its admin context, and a context limited to
 * examples/kubernetes-rbac.yaml (ServiceAccount benchyard in namespace `benchyard`).
 * Tests act on the cluster as an administrator or another user would, through the kubectl
 * built with it.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './catalog.js';

const run = promisify(execFile);

export const K8S_NAMESPACE = 'benchyard';
/** Pods of "someone else": the limited context may not touch them. */
export const K8S_FOREIGN_NAMESPACE = 'benchyard-foreign';
export const K8S_NODE = 'benchyard-k8s-node';
/** In the node's containerd whenever docker had it at `up k8s` (imagePullPolicy: Never). */
export const K8S_BASE_IMAGE = 'docker.io/benchyard/base:bookworm';
/** The kubectl `up k8s` built (k8s-conf.sh: $CACHE/k8s/bin). */
export const KUBECTL = path.join(
  process.env.BENCHYARD_DEV_CACHE ?? '/var/cache/benchyard-dev',
  'k8s/bin/kubectl',
);

export interface DevK8s {
  kubeconfig: string;
  /** Cluster admin. */
  context: string;
  /** The ServiceAccount benchyard/benchyard with only the example Role's rights. */
  limitedContext: string;
}

let env: Promise<DevK8s> | undefined;

/** `scripts/services env k8s`, parsed (once per process); fails with the command that fixes it. */
export function k8sEnv(): Promise<DevK8s> {
  env ??= readEnv().catch((err: unknown) => {
    env = undefined;
    throw err;
  });
  return env;
}

async function readEnv(): Promise<DevK8s> {
  let out: string;
  try {
    out = (await run(path.join(ROOT, 'scripts/services'), ['env', 'k8s'], { timeout: 30_000 })).stdout;
  } catch (err) {
    throw new Error(
      `the test Kubernetes cluster is not up (${(err as { stderr?: string }).stderr?.trim() || String(err)}); run \`scripts/services up k8s\` (as root)`,
    );
  }
  const vars = new Map(
    [...out.matchAll(/^export ([A-Z_0-9]+)=(?:'([^']*)'|"([^"]*)"|(\S*))$/gm)].map((m) => [
      m[1]!,
      m[2] ?? m[3] ?? m[4] ?? '',
    ]),
  );
  const need = (k: string) => {
    const v = vars.get(k);
    if (!v) throw new Error(`scripts/services env k8s printed no ${k}`);
    return v;
  };
  return {
    kubeconfig: need('KUBECONFIG'),
    context: need('BENCHYARD_K8S_CONTEXT'),
    limitedContext: need('BENCHYARD_K8S_LIMITED_CONTEXT'),
  };
}

/**
 * The cluster's coordinates once its node is Ready with both fake GPUs allocatable: a
 * restarted kubelet shows `nvidia.com/gpu: 0` until the device plugin has registered again.
 */
export async function requireK8s(timeoutMs = 60_000): Promise<DevK8s> {
  const c = await k8sEnv();
  const deadline = Date.now() + timeoutMs;
  let seen = '';
  for (;;) {
    seen = await kubectl([
      'get',
      'node',
      K8S_NODE,
      '-o',
      'jsonpath={.status.conditions[?(@.type=="Ready")].status} {.status.allocatable.nvidia\\.com/gpu}',
    ]).catch((err: unknown) => String(err));
    if (seen.trim() === 'True 2') return c;
    if (Date.now() > deadline)
      throw new Error(
        `the test Kubernetes node is not Ready with nvidia.com/gpu: 2 after ${timeoutMs / 1000} s (Ready, GPUs: ${seen.trim()}); try \`scripts/services up k8s\``,
      );
    await new Promise((r) => setTimeout(r, 500));
  }
}

export interface KubectlOptions {
  /** A kubeconfig context; the admin's by default. */
  context?: string;
  /** Written to kubectl's stdin (`apply -f -`). */
  input?: string;
  timeoutMs?: number;
}

/** A failed kubectl, with what it printed (`auth can-i` says "no" on stdout, exit status 1). */
export class KubectlError extends Error {
  constructor(
    message: string,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(message);
  }
}

/** kubectl against the test cluster; its stdout. Rejects with a KubectlError otherwise. */
export async function kubectl(args: string[], opts: KubectlOptions = {}): Promise<string> {
  const c = await k8sEnv();
  const argv = ['--kubeconfig', c.kubeconfig, '--context', opts.context ?? c.context, ...args];
  return new Promise((resolve, reject) => {
    const child = execFile(
      KUBECTL,
      argv,
      { timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err)
          reject(
            new KubectlError(`kubectl ${args.join(' ')}: ${stderr.trim() || err.message}`, stdout, stderr),
          );
        else resolve(stdout);
      },
    );
    child.stdin?.end(opts.input ?? '');
  });
}

/** kubectl with `-o json`, parsed. */
export async function kubectlJson<T = unknown>(args: string[], opts: KubectlOptions = {}): Promise<T> {
  return JSON.parse(await kubectl([...args, '-o', 'json'], opts)) as T;
}

/** The part of a pod the tests look at (kubectl's JSON has the rest). */
export interface TestPod {
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    deletionTimestamp?: string;
  };
  spec: { nodeName?: string; containers: { name: string; image: string }[] };
  status: {
    phase?: string;
    reason?: string;
    qosClass?: string;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
  };
}

/** The pods of a namespace matching a label selector (`a=b,c`), deleted ones included. */
export async function podsWithLabel(namespace: string, selector: string): Promise<TestPod[]> {
  const list = await kubectlJson<{ items: TestPod[] }>(['get', 'pods', '-n', namespace, '-l', selector]);
  return list.items;
}

/**
 * Deletes the matching pods with a 1 s grace period and waits until they are gone: the
 * kubelet has then stopped their containers and given their GPUs back (a forced deletion
 * would free them in the scheduler's view before the kubelet's).
 */
export async function deletePodsNow(namespace: string, selector: string): Promise<void> {
  await kubectl(
    ['delete', 'pods', '-n', namespace, '-l', selector, '--grace-period=1', '--wait=true', '--timeout=60s'],
    { timeoutMs: 90_000 },
  );
}

/** The node's containerd (k8s-conf.sh: K8S_SOCK), where the kubelet looks for images. */
export const K8S_CONTAINERD_SOCK = '/run/benchyard-k8s/containerd.sock';

/**
 * Copies an image from this machine's docker into the node's containerd, as
 * k8s_import_docker_image does (`docker save | ctr import`): it is then
 * `docker.io/<repo>:<tag>` to pods with imagePullPolicy Never or IfNotPresent.
 */
export async function importDockerImage(ref: string): Promise<void> {
  await run(
    'bash',
    [
      '-c',
      'set -o pipefail; docker save "$1" | ctr --address "$2" -n k8s.io images import -',
      'import',
      ref,
      K8S_CONTAINERD_SOCK,
    ],
    { timeout: 300_000 },
  );
}

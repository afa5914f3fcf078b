/**
 * The test Kubernetes cluster itself (`scripts/services up k8s`), before any provider test
 * relies on it: a GPU pod gets exactly the fake device the device plugin allocated, pods pull
 * from the local registry by digest, and the limited context has the example Role's rights
 * in `benchyard` and none elsewhere. Needs docker too (to push to the registry), and root:
 * one test restarts the kubelet.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  K8S_BASE_IMAGE,
  K8S_FOREIGN_NAMESPACE,
  K8S_NAMESPACE,
  KubectlError,
  deletePodsNow,
  kubectl,
  podsWithLabel,
  requireK8s,
  type DevK8s,
} from '../helpers/k8s.js';
import { ROOT } from '../helpers/catalog.js';
import { until } from '../helpers/cli.js';
import { DEV_STATE_DIR } from '../helpers/remote-hosts.js';

const run = promisify(execFile);
const LABEL = 'benchyard.io/k8s-cluster-test';
const REGISTRY = `127.0.0.1:${process.env.BENCHYARD_REGISTRY_PORT ?? '5000'}`;
let cluster: DevK8s;

beforeAll(async () => {
  cluster = await requireK8s();
});

afterAll(async () => {
  if (cluster) await deletePodsNow(K8S_NAMESPACE, LABEL);
});

/** A pod with `limits: nvidia.com/gpu: 1`, created with the limited context (the example
 * Role must suffice), run to its end; what it saw. */
async function runGpuPod(name: string): Promise<{ visible?: string; devices: string[] }> {
  await kubectl(['apply', '-f', '-'], {
    context: cluster.limitedContext,
    input: JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: K8S_NAMESPACE, labels: { [LABEL]: 'true' } },
      spec: {
        restartPolicy: 'Never',
        automountServiceAccountToken: false,
        terminationGracePeriodSeconds: 1,
        containers: [
          {
            name: 'c',
            image: K8S_BASE_IMAGE,
            imagePullPolicy: 'Never',
            command: ['sh', '-c', 'echo "visible=$NVIDIA_VISIBLE_DEVICES"; ls /dev | grep k8s-fakegpu'],
            resources: { limits: { 'nvidia.com/gpu': '1' } },
          },
        ],
      },
    }),
  });
  await kubectl(
    ['wait', '-n', K8S_NAMESPACE, `pod/${name}`, '--for=jsonpath={.status.phase}=Succeeded', '--timeout=30s'],
    { timeoutMs: 40_000 },
  );
  expect((await podsWithLabel(K8S_NAMESPACE, LABEL)).map((p) => p.metadata.name)).toContain(name);
  const log = await kubectl(['logs', '-n', K8S_NAMESPACE, name], { context: cluster.limitedContext });
  return {
    visible: /^visible=(.*)$/m.exec(log)?.[1],
    devices: log.split('\n').filter((l) => l.startsWith('k8s-fakegpu')),
  };
}

describe('the test Kubernetes cluster', () => {
  it('gives a pod asking for one nvidia.com/gpu exactly the fake device in NVIDIA_VISIBLE_DEVICES', async () => {
    const { visible, devices } = await runGpuPod(`gpu-${process.pid}`);
    expect(visible).toMatch(/^k8s-fakegpu[01]$/);
    expect(devices).toEqual([visible]);
  });

  // The kubelet empties /var/lib/kubelet/device-plugins/ when it starts: without the
  // plugin's re-registration a GPU pod would fail admission (UnexpectedAdmissionError).
  it('still runs GPU pods after a kubelet restart: the device plugin registers again', async () => {
    const pid = Number(readFileSync(path.join(DEV_STATE_DIR, 'k8s/kubelet.pid'), 'utf8').trim());
    process.kill(pid, 'SIGTERM');
    await until(async () => (existsSync(`/proc/${pid}`) ? undefined : true), 30_000, 'the kubelet to exit');
    await run(path.join(ROOT, 'scripts/services'), ['up', 'k8s'], { timeout: 120_000 });
    await requireK8s(30_000);
    const { visible, devices } = await runGpuPod(`gpu-again-${process.pid}`);
    expect(devices).toEqual([visible]);
  });

  it('pulls an image from the local registry by digest', async () => {
    // The registry's copy of the base image; pushing it again only re-sends the manifest.
    const repo = `${REGISTRY}/benchyard/k8s-cluster-test`;
    await run('docker', ['tag', K8S_BASE_IMAGE.replace(/^docker\.io\//, ''), `${repo}:1`]);
    await run('docker', ['push', `${repo}:1`], { timeout: 120_000 });
    const { stdout } = await run('docker', [
      'image',
      'inspect',
      '-f',
      '{{join .RepoDigests "\\n"}}',
      `${repo}:1`,
    ]);
    const image = stdout.split('\n').find((d) => d.startsWith(`${repo}@sha256:`));
    expect(image).toBeDefined();
    const name = `digest-${process.pid}`;
    await kubectl(
      ['run', name, '-n', K8S_NAMESPACE, `--image=${image!}`, '--image-pull-policy=Always', '--restart=Never']
        .concat([
          '--labels',
          `${LABEL}=true`,
          '--overrides',
          '{"spec":{"automountServiceAccountToken":false}}',
        ])
        .concat(['--command', '--', 'true']),
      { context: cluster.limitedContext },
    );
    await kubectl(
      [
        'wait',
        '-n',
        K8S_NAMESPACE,
        `pod/${name}`,
        '--for=jsonpath={.status.phase}=Succeeded',
        '--timeout=60s',
      ],
      { timeoutMs: 70_000 },
    );
    // The digest: containerd names the image by whichever repository it pulled it from first.
    expect(
      await kubectl([
        'get',
        'pod',
        '-n',
        K8S_NAMESPACE,
        name,
        '-o',
        'jsonpath={.status.containerStatuses[0].imageID}',
      ]),
    ).toMatch(new RegExp(`@${image!.split('@')[1]}$`));
  });

  it('lets the limited context create pods in benchyard but not in benchyard-foreign', async () => {
    const canI = (verb: string, resource: string, namespace: string) =>
      kubectl(['auth', 'can-i', verb, resource, '-n', namespace], { context: cluster.limitedContext }).then(
        (out) => out.trim(),
        // can-i answers "no" with exit status 1.
        (err: unknown) =>
          err instanceof KubectlError && err.stdout.trim() === 'no' ? 'no' : Promise.reject(err),
      );
    expect(await canI('create', 'pods', K8S_NAMESPACE)).toBe('yes');
    expect(await canI('create', 'pods/exec', K8S_NAMESPACE)).toBe('yes');
    expect(await canI('create', 'pods', K8S_FOREIGN_NAMESPACE)).toBe('no');
    expect(await canI('get', 'secrets', K8S_NAMESPACE)).toBe('no');
    // The admin context may (the foreign namespace exists; tests put "someone else's" pods there).
    expect(await kubectl(['auth', 'can-i', 'create', 'pods', '-n', K8S_FOREIGN_NAMESPACE])).toMatch(/^yes/);
    expect(await kubectl(['get', 'namespace', K8S_FOREIGN_NAMESPACE, '-o', 'name'])).toMatch(
      /benchyard-foreign/,
    );
  });
});

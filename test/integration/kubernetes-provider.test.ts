/**
 * The kubernetes provider against the real one-node cluster of `scripts/services up k8s`
 * (Kubernetes v1.34.4 built here, node benchyard-k8s-node with two fake GPUs from a real
 * device plugin): benchmark pods with limits, labels, deadline and affinity; a fake GPU
 * seen exactly; an unschedulable pod failing with the scheduler's words; pods deleted from
 * outside; exclusive nodes between controllers; gc that deletes only benchyard's pods.
 */
import Docker from 'dockerode';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KubernetesProvider } from '../../providers/kubernetes/index.js';
import { Ssh2Connector } from '../../providers/ssh/index.js';
import { kubernetesTarget } from '../../src/config/targets/kubernetes.js';
import {
  InfrastructureError,
  OwnershipError,
  ProvisionError,
  silentLogger,
  systemClock,
  type Machine,
  type ProviderContext,
  type TargetSpec,
} from '../../src/core/index.js';
import { runContainer } from '../../src/engine/index.js';
import { pushImage, registryDigestRef } from '../../src/images/index.js';
import { SqliteLedger } from '../../src/ledger/index.js';
import { until } from '../helpers/cli.js';
import {
  K8S_FOREIGN_NAMESPACE,
  K8S_NAMESPACE,
  kubectl,
  kubectlJson,
  podsWithLabel,
  requireK8s,
  type DevK8s,
  type TestPod,
} from '../helpers/k8s.js';

const REGISTRY = '127.0.0.1:5000';
let k8s: DevK8s;
let state: string;
let image: string;
const held: { provider: KubernetesProvider; machine: Machine }[] = [];

beforeAll(async () => {
  k8s = await requireK8s();
  process.env.KUBECONFIG = k8s.kubeconfig;
  state = mkdtempSync(path.join(os.tmpdir(), 'benchyard-k8s-'));
  const pushed = await pushImage(new Docker(), 'benchyard/base:bookworm', REGISTRY);
  image = registryDigestRef(REGISTRY, pushed.repo, pushed.digest);
}, 120_000);
afterEach(async () => {
  await Promise.allSettled(
    held.splice(0).map((h) => h.provider.release(h.machine, AbortSignal.timeout(120_000))),
  );
  await kubectl([
    'delete',
    'pods',
    '-n',
    K8S_FOREIGN_NAMESPACE,
    '--all',
    '--grace-period=0',
    '--force',
  ]).catch(() => undefined);
});
afterAll(() => rmSync(state, { recursive: true, force: true }));

function controller(session: string, progress: string[] = []) {
  const ledger = new SqliteLedger(mkdtempSync(path.join(state, 'state-')), session);
  const ctx: ProviderContext = {
    ledger,
    connector: new Ssh2Connector({ logger: silentLogger }),
    maxLifetimeMs: 3_600_000,
    clock: systemClock,
    logger: silentLogger,
    progress: (line) => progress.push(line),
  };
  return { ledger, provider: new KubernetesProvider(ctx), progress };
}

function target(options: Record<string, unknown> = {}): TargetSpec {
  return {
    name: 'k8s',
    provider: 'kubernetes',
    options: kubernetesTarget.parse({
      context: k8s.context,
      namespace: K8S_NAMESPACE,
      cpu: '500m',
      memory: '256Mi',
      scheduleTimeout: '20s',
      ...options,
    }),
  };
}

async function acquire(
  c: ReturnType<typeof controller>,
  spec = target(),
  signal = AbortSignal.timeout(90_000),
) {
  const machine = await c.provider.acquire(spec, signal);
  held.push({ provider: c.provider, machine });
  return machine;
}

const labels = (session: string) => ({ 'io.benchyard.session': session, 'io.benchyard.run': 'r1' });

describe('kubernetes provider (real cluster)', () => {
  it('runs a repetition as a Guaranteed pod on the held node, with its GPU, limits, labels, deadline and affinity', async () => {
    const c = controller('k8s-it-a');
    // Cells that need a GPU: the holder goes only to nodes with that many.
    const machine = await acquire(c, { ...target(), gpusPerMachine: 1 });
    expect(machine.hostname).toBe('benchyard-k8s-node');
    const [holder] = await podsWithLabel(
      K8S_NAMESPACE,
      'benchyard.io/session=k8s-it-a,benchyard.io/role=holder',
    );
    expect(JSON.stringify((holder as unknown as { spec: { affinity: unknown } }).spec.affinity)).toContain(
      '"matchFields":[{"key":"metadata.name","operator":"In","values":["benchyard-k8s-node"]}]',
    );
    expect(machine.hardware?.gpus?.[0]?.count).toBe(2);
    const container = await machine.engine.create({
      name: 'x',
      image,
      argv: [
        'sh',
        '-c',
        'echo gpus=$NVIDIA_VISIBLE_DEVICES; ls /dev | grep fakegpu; echo \'{"score": 42}\' > /tmp/out.json',
      ],
      labels: labels('k8s-it-a'),
      network: 'bridge',
      access: { gpu: { count: 1 }, devices: [], deviceCgroupRules: [], privileged: false },
      afterExit: ['/tmp/out.json'],
    });
    const pod = await kubectlJson<TestPod & { spec: Record<string, never> }>([
      'get',
      'pod',
      '-n',
      K8S_NAMESPACE,
      container.id,
    ]);
    const spec = pod.spec as unknown as {
      activeDeadlineSeconds: number;
      containers: {
        name: string;
        resources: { limits: Record<string, string>; requests: Record<string, string> };
      }[];
      affinity: { nodeAffinity: unknown; podAntiAffinity: unknown };
    };
    const bench = spec.containers.find((x) => x.name === 'bench')!;
    expect(bench.resources.limits).toEqual({
      cpu: '500m',
      memory: String(256 * 2 ** 20),
      'nvidia.com/gpu': '1',
    });
    expect(bench.resources.requests).toEqual(bench.resources.limits);
    // The API server's own judgement, the keeper container included.
    expect(pod.status.qosClass).toBe('Guaranteed');
    expect(spec.activeDeadlineSeconds).toBeGreaterThan(0);
    expect(JSON.stringify(spec.affinity.nodeAffinity)).toContain('benchyard-k8s-node');
    expect(JSON.stringify(spec.affinity.podAntiAffinity)).toContain('"benchyard.io/role":"benchmark"');
    expect(pod.metadata.labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'benchyard',
      'benchyard.io/role': 'benchmark',
    });
    const owner = JSON.parse(pod.metadata.annotations!['benchyard.io/owner']!) as Record<string, string>;
    expect(owner).toMatchObject({ session: 'k8s-it-a' });
    expect(owner.key).toMatch(/^[0-9a-f]{12}$/);
    expect(Date.parse(owner.expiresAt!)).toBeGreaterThan(Date.now());
    await container.remove();

    const outcome = await runContainer(
      machine.engine,
      {
        name: 'x',
        image,
        argv: [
          'sh',
          '-c',
          'echo gpus=$NVIDIA_VISIBLE_DEVICES; ls /dev | grep fakegpu; echo \'{"score": 42}\' > /tmp/out.json',
        ],
        labels: labels('k8s-it-a'),
        network: 'bridge',
        access: { gpu: { count: 1 }, devices: [], deviceCgroupRules: [], privileged: false },
        collect: ['/tmp/out.json', '/tmp/missing.json'],
        timeoutMs: 60_000,
      },
      { signal: AbortSignal.timeout(90_000) },
      { logger: silentLogger },
    );
    expect(outcome.exitCode).toBe(0);
    const visible = /gpus=(\S+)/.exec(outcome.stdout)?.[1];
    const devices = outcome.stdout.split('\n').filter((l) => l.startsWith('k8s-fakegpu'));
    expect(devices).toEqual([visible]);
    expect(outcome.files.get('/tmp/out.json')?.data.toString()).toContain('"score": 42');
    expect(outcome.files.has('/tmp/missing.json')).toBe(false);
    expect(await podsWithLabel(K8S_NAMESPACE, 'benchyard.io/role=benchmark')).toEqual([]);
  }, 120_000);

  it('says what the cluster has, and a pod the scheduler cannot place fails with its reason', async () => {
    const c = controller('k8s-it-b');
    expect((await c.provider.describe(target())).gpus).toEqual([expect.objectContaining({ count: 2 })]);
    // A machine for cells of 3 GPUs: no node has them; nothing is created.
    await expect(acquire(c, { ...target(), gpusPerMachine: 3 })).rejects.toThrow(
      /no usable node has 3 nvidia\.com\/gpu/,
    );
    expect(await podsWithLabel(K8S_NAMESPACE, 'benchyard.io/session=k8s-it-b')).toEqual([]);
    const machine = await acquire(c, target({ scheduleTimeout: '5s' }));
    const run = runContainer(
      machine.engine,
      {
        name: 'x',
        image,
        argv: ['true'],
        labels: labels('k8s-it-b'),
        network: 'bridge',
        access: { gpu: { count: 3 }, devices: [], deviceCgroupRules: [], privileged: false },
        timeoutMs: 60_000,
      },
      { signal: AbortSignal.timeout(60_000) },
      { logger: silentLogger },
    );
    await expect(run).rejects.toThrow(/Insufficient nvidia\.com\/gpu/);
    await expect(run).rejects.toBeInstanceOf(InfrastructureError);
  }, 90_000);

  it("doctor's checks: RBAC of the limited context, and whether the node pulls from the registry", async () => {
    const c = controller('k8s-it-f');
    const statuses = (checks: { check: string; status: string }[]) =>
      Object.fromEntries(checks.map((x) => [x.check.replace(/ .*/, ''), x.status]));
    const good = await c.provider.preflight(
      target({ context: k8s.limitedContext }),
      AbortSignal.timeout(150_000),
      {
        registryImage: async () => image,
      },
    );
    expect(statuses(good)).toMatchObject({
      kubernetes: 'ok',
      nodes: 'ok',
      RBAC: 'ok',
      quota: 'ok',
      registry: 'ok',
    });
    expect(good.find((x) => x.check.startsWith('registry'))!.detail).toMatch(
      /node benchyard-k8s-node pulled/,
    );
    // The same image by digest at an address where no registry answers: the kubelet's words.
    const bad = await c.provider.preflight(target(), AbortSignal.timeout(150_000), {
      registryImage: async () => image.replace(REGISTRY, '127.0.0.1:5999'),
    });
    const registry = bad.find((x) => x.check.startsWith('registry'))!;
    expect(registry).toMatchObject({ status: 'fail', check: 'registry 127.0.0.1:5999' });
    expect(registry.detail).toMatch(/cannot pull .*(ErrImagePull|ImagePullBackOff).*(refused|5999)/);
    // No registry in the matrix; a namespace the limited user may not use (nothing is created there).
    expect(statuses(await c.provider.preflight(target(), AbortSignal.timeout(30_000), {}))).toMatchObject({
      registry: 'fail',
    });
    const foreign = await c.provider.preflight(
      target({ context: k8s.limitedContext, namespace: K8S_FOREIGN_NAMESPACE }),
      AbortSignal.timeout(30_000),
      { registryImage: async () => image },
    );
    expect(foreign.find((x) => x.check.startsWith('RBAC'))).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/not allowed: create pods/),
    });
    expect(foreign.some((x) => x.check.startsWith('registry'))).toBe(false);
    // Each probe pod is gone and its ledger entry closed.
    expect(await podsWithLabel(K8S_NAMESPACE, 'benchyard.io/role=probe')).toEqual([]);
    expect(c.ledger.open()).toEqual([]);
  }, 240_000);

  it("a namespace's ResourceQuota: a GPU quota caps what a machine offers, every pod passes its admission, a pod over it fails with its words", async () => {
    const ns = `benchyard-quota-${Date.now().toString(36)}`;
    await kubectl(['create', 'namespace', ns]);
    try {
      // A team's quota as it usually is: GPUs, and CPU and memory (so every container must say its own).
      await kubectl(['apply', '-f', '-'], {
        input: JSON.stringify({
          apiVersion: 'v1',
          kind: 'ResourceQuota',
          metadata: { name: 'team', namespace: ns },
          spec: {
            hard: {
              'requests.nvidia.com/gpu': '1',
              'requests.cpu': '2',
              'limits.cpu': '4',
              'requests.memory': '2Gi',
              'limits.memory': '4Gi',
            },
          },
        }),
      });
      await until(
        async () =>
          Object.keys(
            (await kubectlJson<{ status?: { hard?: object } }>(['get', 'resourcequota', '-n', ns, 'team']))
              .status?.hard ?? {},
          ).length > 0,
        30_000,
      );
      const c = controller('k8s-it-q');
      const spec = target({ namespace: ns });
      expect((await c.provider.describe(spec)).gpus).toEqual([expect.objectContaining({ count: 1 })]);
      const checks = await c.provider.preflight(spec, AbortSignal.timeout(150_000), {
        registryImage: async () => image,
      });
      expect(checks.find((x) => x.check === `quota in ${ns}`)).toMatchObject({
        status: 'ok',
        detail: expect.stringContaining('requests.nvidia.com/gpu 0/1'),
      });
      expect(checks.find((x) => x.check.startsWith('registry'))?.status).toBe('ok');
      const machine = await acquire(c, spec);
      const run = (gpus: number) =>
        runContainer(
          machine.engine,
          {
            name: 'x',
            image,
            argv: ['sh', '-c', 'ls /dev | grep -c fakegpu'],
            labels: labels('k8s-it-q'),
            network: 'bridge',
            access: { gpu: { count: gpus }, devices: [], deviceCgroupRules: [], privileged: false },
            collect: ['/etc/hostname'],
            timeoutMs: 60_000,
          },
          { signal: AbortSignal.timeout(90_000) },
          { logger: silentLogger },
        );
      const one = await run(1);
      expect(one.exitCode).toBe(0);
      expect(one.stdout.trim()).toBe('1');
      await expect(run(2)).rejects.toThrow(/exceeded quota: team.*requested: requests\.nvidia\.com\/gpu=2/);
      expect(c.ledger.open().length).toBe(1); // the machine's; nothing of the refused pod
    } finally {
      await kubectl(['delete', 'namespace', ns, '--wait=false']).catch(() => undefined);
    }
  }, 240_000);

  it('a benchmark pod evicted or deleted from outside fails its repetition as an infrastructure failure; a deleted holder loses the machine', async () => {
    const c = controller('k8s-it-c');
    const machine = await acquire(c);
    const sleeper = () => {
      const run = runContainer(
        machine.engine,
        {
          name: 'x',
          image,
          argv: ['sleep', '60'],
          labels: labels('k8s-it-c'),
          network: 'bridge',
          timeoutMs: 90_000,
        },
        { signal: AbortSignal.timeout(90_000) },
        { logger: silentLogger },
      );
      run.catch(() => undefined); // awaited below, once the pod is gone
      return run;
    };
    const runningPod = async () => {
      let name: string | undefined;
      await until(async () => {
        name = (await podsWithLabel(K8S_NAMESPACE, 'benchyard.io/role=benchmark')).find(
          (p) => p.status.phase === 'Running',
        )?.metadata.name;
        return name !== undefined;
      }, 30_000);
      return name!;
    };
    // Evicted through the Eviction API, as `kubectl drain` and the node-pressure path do.
    const evicted = sleeper();
    const victim = await runningPod();
    await kubectl(
      ['create', '--raw', `/api/v1/namespaces/${K8S_NAMESPACE}/pods/${victim}/eviction`, '-f', '-'],
      {
        input: JSON.stringify({
          apiVersion: 'policy/v1',
          kind: 'Eviction',
          metadata: { name: victim, namespace: K8S_NAMESPACE },
        }),
      },
    );
    await expect(evicted).rejects.toBeInstanceOf(InfrastructureError);
    await expect(evicted).rejects.toThrow(/EvictionByEvictionAPI|deleted from outside benchyard/);
    await until(
      async () => (await podsWithLabel(K8S_NAMESPACE, 'benchyard.io/role=benchmark')).length === 0,
      30_000,
    );

    const run = sleeper();
    await runningPod();
    await kubectl([
      'delete',
      'pods',
      '-n',
      K8S_NAMESPACE,
      '-l',
      'benchyard.io/role=benchmark',
      '--wait=false',
    ]);
    await expect(run).rejects.toThrow(/deleted from outside benchyard/);

    await kubectl(['delete', 'pods', '-n', K8S_NAMESPACE, '-l', 'benchyard.io/role=holder', '--wait=false']);
    await until(async () => machine.revoked!.aborted, 30_000);
    expect(String((machine.revoked!.reason as Error).message)).toMatch(
      /holder pod .* (was deleted|Running)|DisruptionTarget|deleted/,
    );
  }, 120_000);

  it('exclusive: a second controller waits for the node, saying why, and gets it once it is released', async () => {
    const a = controller('k8s-it-d1');
    const first = await acquire(a);
    const progress: string[] = [];
    const b = controller('k8s-it-d2', progress);
    await expect(acquire(b, target({ holdTimeout: '4s' }))).rejects.toBeInstanceOf(ProvisionError);
    expect(progress.join('\n')).toMatch(/Unschedulable: .*anti-affinity/);
    // Nothing of b is left after its failed acquire.
    expect((await podsWithLabel(K8S_NAMESPACE, 'benchyard.io/role=holder')).length).toBe(1);
    const waiting = acquire(b);
    await a.provider.release(first, AbortSignal.timeout(60_000));
    held.splice(
      held.findIndex((h) => h.machine === first),
      1,
    );
    expect((await waiting).hostname).toBe('benchyard-k8s-node');
  }, 150_000);

  it("gc deletes the pods of a dead controller and leaves a pod that only looks like benchyard's", async () => {
    const dead = controller('k8s-it-e');
    const machine = await dead.provider.acquire(target(), AbortSignal.timeout(90_000));
    const key = JSON.parse(
      (await podsWithLabel(K8S_NAMESPACE, 'benchyard.io/role=holder'))[0]!.metadata.annotations![
        'benchyard.io/owner'
      ]!,
    ).key as string;
    // A look-alike in another namespace, copying labels and annotation, created by someone else (kubectl).
    await kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: 'lookalike',
          namespace: K8S_FOREIGN_NAMESPACE,
          labels: {
            'app.kubernetes.io/managed-by': 'benchyard',
            'benchyard.io/session': 'k8s-it-e',
            'benchyard.io/role': 'holder',
          },
          annotations: {
            'benchyard.io/owner': JSON.stringify({
              key,
              session: 'k8s-it-e',
              owner: 'x',
              expiresAt: '2000-01-01T00:00:00Z',
            }),
          },
        },
        spec: {
          containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10.1', imagePullPolicy: 'IfNotPresent' }],
        },
      }),
    });
    const hint = { provider: 'kubernetes', kind: 'pod', id: '', ledgerKey: key, session: 'k8s-it-e' };
    const gc = controller('k8s-it-gc');
    const found = await gc.provider.discover({
      hints: [
        { ...hint, details: { context: k8s.context, namespace: K8S_NAMESPACE } },
        { ...hint, details: { context: k8s.context, namespace: K8S_FOREIGN_NAMESPACE } },
      ],
      signal: AbortSignal.timeout(30_000),
    });
    const ours = found.find((r) => r.details?.namespace === K8S_NAMESPACE)!;
    const lookalike = found.find((r) => r.details?.namespace === K8S_FOREIGN_NAMESPACE)!;
    expect(ours.ledgerKey).toBe(key);
    await expect(gc.provider.destroy(lookalike, AbortSignal.timeout(30_000))).rejects.toBeInstanceOf(
      OwnershipError,
    );
    await gc.provider.destroy(ours, AbortSignal.timeout(60_000));
    expect(await podsWithLabel(K8S_NAMESPACE, 'benchyard.io/role=holder')).toEqual([]);
    expect(await gc.provider.absent({ ...ours }, AbortSignal.timeout(30_000))).toBe(true);
    expect(
      (await podsWithLabel(K8S_FOREIGN_NAMESPACE, 'app.kubernetes.io/managed-by=benchyard')).map(
        (p) => p.metadata.name,
      ),
    ).toEqual(['lookalike']);
    await until(async () => machine.revoked!.aborted, 30_000);
    await dead.provider.release(machine, AbortSignal.timeout(30_000));
  }, 150_000);
});

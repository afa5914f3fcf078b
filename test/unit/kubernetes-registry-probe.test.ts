/**
 * doctor's pull probe for a kubernetes target, over a fake `KubeApi` and a manual clock:
 * what a probe pod's status says of the pull (on pods recorded from the test cluster), the
 * pod it creates, its ledger entry written first and closed once the pod is gone, and the
 * check it answers for each way a pull goes.
 */
import { ApiException } from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { KubeApi, V1Node, V1Pod } from '../../providers/kubernetes/api.js';
import type { Cluster } from '../../providers/kubernetes/clusters.js';
import { ownerOf } from '../../providers/kubernetes/identity.js';
import { probePod } from '../../providers/kubernetes/pod-spec.js';
import { judge, PROBE_TIMEOUT_MS, probeRegistry } from '../../providers/kubernetes/registry-probe.js';
import { kubernetesTarget } from '../../src/config/targets/kubernetes.js';
import { InfrastructureError, silentLogger, type PreflightCheck } from '../../src/core/index.js';
import { MemoryLedger } from '../helpers/softlayer-harness.js';
import { ManualClock } from '../helpers/manual-clock.js';

/** A recorded pod, its `bench` container renamed to the probe's. */
const fixture = (name: string): V1Pod => {
  const pod = JSON.parse(
    readFileSync(new URL(`../fixtures/kubernetes/pod-${name}.json`, import.meta.url), 'utf8'),
  ) as V1Pod;
  for (const c of pod.status?.containerStatuses ?? []) c.name = 'probe';
  return pod;
};

const IMAGE = '10.0.0.5:5000/benchyard/agent@sha256:' + 'a'.repeat(64);
const NODES: V1Node[] = [{ metadata: { name: 'gpu-1' } }, { metadata: { name: 'gpu-2' } }];

describe('judge: what a probe pod says of its pull', () => {
  it('a created container (running or ended) means the image was pulled', () => {
    expect(judge(fixture('running'))).toEqual({ kind: 'pulled', node: 'benchyard-k8s-node' });
    expect(judge(fixture('exit-3'))).toEqual({ kind: 'pulled', node: 'benchyard-k8s-node' });
  });

  it("a pull error, first or backed off, is a failed pull in the kubelet's words", () => {
    for (const name of ['err-image-pull', 'image-pull-backoff']) {
      const v = judge(fixture(name));
      expect(v).toMatchObject({ kind: 'failed', node: 'benchyard-k8s-node' });
      expect(v?.kind === 'failed' && v.reason).toMatch(
        /^(ErrImagePull|ImagePullBackOff): .*127\.0\.0\.1:5000\/nope@sha256:0/,
      );
    }
  });

  it('an unschedulable pod is undecided (it may be placed later); one evicted before its pull ended', () => {
    expect(judge(fixture('unschedulable'))).toBeUndefined();
    // Evicted after it ran: the image was there.
    expect(judge(fixture('evicted'))).toMatchObject({ kind: 'pulled' });
    const early = fixture('evicted');
    early.status!.containerStatuses = [];
    expect(judge(early)).toMatchObject({
      kind: 'ended',
      reason: expect.stringMatching(/^EvictionByEvictionAPI/),
    });
  });
});

describe('probePod', () => {
  it('pulls afresh by digest on one of the nodes, asks for next to nothing, ends by its deadline', () => {
    const owner = { key: 'k1', session: 's1', owner: 'me', expiresAt: '2030-01-01T00:00:00Z' };
    const pod = probePod({
      name: 'by-probe-k1-abcdef',
      owner,
      placement: { nodeSelector: { pool: 'gpu' }, tolerations: [], imagePullSecrets: ['regcred'] },
      nodes: ['gpu-1', 'gpu-2'],
      image: IMAGE,
      deadlineSeconds: 240,
    });
    expect(pod.metadata?.labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'benchyard',
      'benchyard.io/role': 'probe',
      'benchyard.io/key': 'k1',
    });
    expect(ownerOf(pod)).toEqual(owner);
    expect(pod.spec).toMatchObject({
      nodeSelector: { pool: 'gpu' },
      imagePullSecrets: [{ name: 'regcred' }],
      restartPolicy: 'Never',
      activeDeadlineSeconds: 240,
      automountServiceAccountToken: false,
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [
              { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['gpu-1', 'gpu-2'] }] },
            ],
          },
        },
      },
    });
    expect(pod.spec?.affinity?.podAntiAffinity).toBeUndefined();
    expect(pod.spec?.containers[0]).toMatchObject({
      image: IMAGE,
      imagePullPolicy: 'Always',
      command: ['true'],
      resources: { requests: { cpu: '1m' } },
    });
  });
});

/** A cluster whose probe pod goes through `states` (one per read), then stays at the last. */
function cluster(states: (V1Pod | undefined)[], ledger: MemoryLedger, refuse?: Error, copycat = false) {
  const pods = new Map<string, V1Pod>();
  const log: string[] = [];
  let reads = 0;
  const api = {
    context: 'ctx',
    server: 'https://k8s.example:6443',
    createPod: async (_ns: string, pod: V1Pod) => {
      // The entry is written before the create, naming the key the pod carries.
      log.push(`create with ${ledger.open().length} open entry (key ${ownerOf(pod)?.key})`);
      if (refuse) throw refuse;
      // The API server records the creating field manager (the real port creates with `benchyard`).
      const created = {
        ...pod,
        metadata: { ...pod.metadata, managedFields: [{ manager: 'benchyard', operation: 'Update' }] },
      };
      pods.set(pod.metadata!.name!, created);
      // Someone copies it at once, labels and owner annotation, with kubectl.
      if (copycat)
        pods.set('lookalike', {
          ...pod,
          metadata: {
            ...pod.metadata,
            name: 'lookalike',
            managedFields: [{ manager: 'kubectl-client-side-apply', operation: 'Update' }],
          },
        });
      return created;
    },
    readPod: async (_ns: string, name: string) => {
      const state = states[Math.min(reads++, states.length - 1)];
      return state && pods.has(name) ? { ...state, metadata: pods.get(name)!.metadata } : undefined;
    },
    listPods: async () => [...pods.values()],
    deletePod: async (_ns: string, name: string) => {
      log.push(`delete ${name}`);
      pods.delete(name);
    },
  } as unknown as KubeApi;
  const c = { api, details: { context: 'ctx' } } as unknown as Cluster;
  return { cluster: c, pods, log };
}

async function probe(states: (V1Pod | undefined)[], refuse?: Error, copycat = false) {
  const clock = new ManualClock();
  const ledger = new MemoryLedger(() => 0, 'doctor-1');
  const fake = cluster(states, ledger, refuse, copycat);
  const o = kubernetesTarget.parse({ context: 'ctx', namespace: 'bench' });
  let done = false;
  const result = probeRegistry(o, NODES, IMAGE, {
    cluster: fake.cluster,
    ctx: { ledger, clock, logger: silentLogger },
    target: 'k8s',
    signal: new AbortController().signal,
  }).finally(() => (done = true));
  // The probe reads the pod back between sleeps: move time on until it answers.
  for (let i = 0; i < 10_000 && !done; i++) {
    await new Promise((r) => setImmediate(r));
    clock.advance(250);
  }
  return { check: (await result) as PreflightCheck, ledger, ...fake };
}

describe('probeRegistry', () => {
  it('ok once the node has pulled; the pod is deleted and its ledger entry closed', async () => {
    const { check, ledger, pods, log } = await probe([fixture('unschedulable'), fixture('running')]);
    expect(check).toMatchObject({ check: 'registry 10.0.0.5:5000', status: 'ok' });
    expect(check.detail).toMatch(
      /^node benchyard-k8s-node pulled 10\.0\.0\.5:5000\/benchyard\/agent@sha256:a{64} in \d+\.\d s$/,
    );
    expect(log[0]).toMatch(/^create with 1 open entry \(key .+\)$/);
    expect(log[1]).toMatch(/^delete by-probe-/);
    expect(pods.size).toBe(0);
    expect(ledger.open()).toEqual([]);
  });

  it('its clean-up deletes only what it created: a copy with its labels and annotation is left alone', async () => {
    const { check, ledger, pods, log } = await probe([fixture('running')], undefined, true);
    expect(check.status).toBe('ok');
    expect([...pods.keys()]).toEqual(['lookalike']);
    expect(log.filter((l) => l.startsWith('delete'))).toEqual([expect.stringMatching(/^delete by-probe-/)]);
    expect(ledger.open()).toEqual([]);
  });

  it("a failed pull fails the check with the kubelet's words", async () => {
    const { check, pods } = await probe([fixture('err-image-pull')]);
    expect(check.status).toBe('fail');
    expect(check.detail).toMatch(/^node benchyard-k8s-node cannot pull .*: ErrImagePull: rpc error/);
    expect(pods.size).toBe(0);
  });

  it('a probe the scheduler cannot place only warns: the registry is untried', async () => {
    const { check, pods, ledger } = await probe([fixture('unschedulable')]);
    expect(check.status).toBe('warn');
    expect(check.detail).toMatch(
      /^no node took the probe pod, so the pull is untried: Unschedulable: 0\/1 nodes/,
    );
    expect(pods.size).toBe(0);
    expect(ledger.open()).toEqual([]);
  });

  it(`a pull still undecided after ${PROBE_TIMEOUT_MS / 1000} s warns; a pod deleted from outside fails`, async () => {
    const pending = fixture('running');
    pending.status = { phase: 'Pending', containerStatuses: [] };
    expect((await probe([pending])).check).toMatchObject({
      status: 'warn',
      detail: expect.stringMatching(/had not pulled .* 120 s after its creation/),
    });
    expect((await probe([undefined])).check).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/deleted from outside/),
    });
  });

  it('a create the API server refuses fails the check and leaves nothing open', async () => {
    // As the API wrapper throws it: the client's ApiException as the cause.
    const refused = new InfrastructureError(
      'kubernetes: creating pod: pods "x" is forbidden: exceeded quota: gpu-quota',
      {},
      {
        cause: new ApiException(403, 'Forbidden', {}, {}),
      },
    );
    const { check, ledger, pods } = await probe([undefined], refused);
    expect(check).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/^the probe pod was refused in bench: .*exceeded quota/),
    });
    expect(pods.size).toBe(0);
    expect(ledger.open()).toEqual([]);
  });
});

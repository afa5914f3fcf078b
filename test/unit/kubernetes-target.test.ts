/**
 * The `kubernetes` target's options: defaults, and what the API server would refuse (names,
 * label keys and values, quantities) refused at load time with the expected form named.
 */
import { ApiException } from '@kubernetes/client-node';
import fc from 'fast-check';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ZodError } from 'zod';
import { apiMessage, loadKubeConfig } from '../../providers/kubernetes/api.js';
import { kubernetesTarget } from '../../src/config/targets/kubernetes.js';
import { InputError } from '../../src/core/index.js';
import { configProblems, loadMatrixText } from '../helpers/catalog.js';

const matrix = (target: string) =>
  `name: a\ntargets:\n  - { name: k, provider: kubernetes, ${target} }\nbenchmarks: [{ benchmark: fio }]\n`;

describe('kubernetes target', () => {
  it('reads the example of the issue, with its defaults, through the matrix loader', async () => {
    const m = await loadMatrixText(
      matrix(
        'context: bench-cluster, namespace: benchyard, nodeSelector: { cloud.google.com/gke-accelerator: nvidia-l4 }, tolerations: [ { key: nvidia.com/gpu, operator: Exists } ]',
      ),
    );
    expect(m.targets[0]).toMatchObject({
      provider: 'kubernetes',
      options: {
        context: 'bench-cluster',
        namespace: 'benchyard',
        nodeSelector: { 'cloud.google.com/gke-accelerator': 'nvidia-l4' },
        tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists' }],
        exclusive: true,
        nodes: 1,
        holderImage: 'registry.k8s.io/pause:3.10.1',
        scheduleTimeout: 600_000,
      },
    });
  });

  it('defaults the namespace and reads durations and quantities', () => {
    expect(
      kubernetesTarget.parse({ cpu: '500m', memory: '16Gi', holdTimeout: '5m', nodes: { max: 4 } }),
    ).toMatchObject({
      namespace: 'default',
      cpu: '500m',
      memory: '16Gi',
      holdTimeout: 300_000,
      nodes: { min: 1, max: 4 },
    });
  });

  it('refuses bad names, labels and quantities, saying what is expected, at their place in the file', async () => {
    const problems = await configProblems(
      matrix('namespace: Bench_yard, cpu: 2cores, memory: 16 GB, priorityClassName: -high'),
    );
    expect(problems).toEqual([
      expect.stringMatching(/^m\.yaml:3:\d+: a Kubernetes name .* \(at targets\[0\]\.namespace\)$/),
      expect.stringMatching(/a quantity such as 2, 500m or 16Gi \(at targets\[0\]\.cpu\)$/),
      expect.stringMatching(/a quantity such as 2, 500m or 16Gi \(at targets\[0\]\.memory\)$/),
      expect.stringMatching(/a Kubernetes name .* \(at targets\[0\]\.priorityClassName\)$/),
    ]);
    const bad = (o: object) => kubernetesTarget.safeParse(o).error?.issues[0]?.message;
    expect(bad({ nodeSelector: { gpu: 'nvidia l4' } })).toMatch(/a label value/);
    expect(bad({ tolerations: [{ key: 'x', operator: 'Equals' }] })).toBeDefined();
    expect(bad({ tolerations: [{ key: 'nvidia.com/gpu', value: 'a'.repeat(64) }] })).toMatch(/at most 63/);
    expect(bad({ namespace: 'a'.repeat(64) })).toMatch(/at most 63/);
    expect(bad({ cpu: -1 })).toBeDefined();
    expect(bad({ exclusive: 'yes' })).toBeDefined();
    expect(bad({ nodes: 0 })).toMatch(/>=1/);
    expect(bad({ scheduleTimeout: '1ms' })).toMatch(/out of range/);
    expect(bad({ contxt: 'x' })).toBeDefined();
  });

  it('refuses a bad node selector key', () => {
    expect(kubernetesTarget.safeParse({ nodeSelector: { 'bad key!': 'x' } }).success).toBe(false);
    expect(
      kubernetesTarget.safeParse({ nodeSelector: { 'nvidia.com/gpu.product': 'NVIDIA-L4' } }).success,
    ).toBe(true);
  });

  it('throws nothing but a ZodError on any input', () => {
    const value = fc.oneof(
      fc.string(),
      fc.integer(),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.array(fc.string(), { maxLength: 3 }),
    );
    const field = fc.constantFrom(
      'context',
      'kubeconfig',
      'namespace',
      'nodeSelector',
      'tolerations',
      'exclusive',
      'nodes',
      'cpu',
      'memory',
      'holderImage',
      'imagePullSecrets',
      'priorityClassName',
      'scheduleTimeout',
      'holdTimeout',
    );
    const input = fc.oneof(
      fc.anything(),
      fc.dictionary(
        field,
        fc.oneof(value, fc.dictionary(fc.string(), value), fc.array(fc.dictionary(fc.string(), value))),
      ),
    );
    fc.assert(
      fc.property(input, (o) => {
        try {
          kubernetesTarget.parse(o);
        } catch (err) {
          expect(err).toBeInstanceOf(ZodError);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('loadKubeConfig', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'by-kubeconfig-'));
  const file = path.join(dir, 'config');
  writeFileSync(
    file,
    `apiVersion: v1
kind: Config
clusters: [{ name: c1, cluster: { server: 'https://10.0.0.1:6443' } }]
users: [{ name: u1, user: { token: t } }]
contexts: [{ name: lab, context: { cluster: c1, user: u1 } }]
current-context: lab
`,
  );

  it('reads a context of the file, as kubectl would', () => {
    expect(loadKubeConfig('lab', file).getCurrentCluster()?.server).toBe('https://10.0.0.1:6443');
  });

  it('a context the kubeconfig lacks is bad input naming those it has', () => {
    expect(() => loadKubeConfig('nope', file)).toThrow(InputError);
    expect(() => loadKubeConfig('nope', file)).toThrow(/has no context 'nope' \(it has: lab\)/);
  });

  it('no kubeconfig at all is bad input, not a made-up cluster at localhost:8080', () => {
    expect(() => loadKubeConfig('lab', undefined, { HOME: dir })).toThrow(InputError);
    expect(() => loadKubeConfig(undefined, undefined, { HOME: dir })).toThrow(
      /no kubeconfig: KUBECONFIG is not set and .*\.kube\/config does not exist/,
    );
  });
});

describe('apiMessage', () => {
  it("says the API server's Status message, else why the request failed", () => {
    const status = JSON.stringify({ kind: 'Status', message: 'pods "x" is forbidden: exceeded quota: q' });
    expect(apiMessage(new ApiException(403, 'Forbidden', status, {}))).toBe(
      'HTTP 403: pods "x" is forbidden: exceeded quota: q',
    );
    expect(apiMessage(new ApiException(401, 'Unauthorized', '', {}))).toMatch(/^HTTP 401: Unauthorized \(/);
    const refused = new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 10.0.0.1:6443') });
    expect(apiMessage(refused)).toBe('fetch failed: connect ECONNREFUSED 10.0.0.1:6443');
  });
});

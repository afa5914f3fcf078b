/**
 * What nodes give: quantities as the API writes them, what a node has left once its pods'
 * requests are counted (the scheduler's own sum: init containers, overhead, ended pods not
 * counted), a benchmark pod's default size, and what one machine of a target has.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { V1Node, V1Pod, V1ResourceQuota } from '../../providers/kubernetes/api.js';
import {
  defaultSize,
  describeNodes,
  GFD,
  nodeLeft,
  quantity,
  quotaGpusLeft,
} from '../../providers/kubernetes/nodes.js';

const Mi = 2 ** 20;
const Gi = 2 ** 30;

describe('quantity', () => {
  // The forms of https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/quantity/
  it.each([
    ['500m', 0.5],
    ['2', 2],
    ['16Gi', 16 * Gi],
    ['1e3', 1000],
    ['1E3', 1000],
    ['129M', 129e6],
    ['1.5', 1.5],
    ['100Ki', 102_400],
    ['.5', 0.5],
    ['0', 0],
    [' 2 ', 2],
    [3, 3],
  ] as const)('%s is %d', (q, n) => {
    expect(quantity(q)).toBeCloseTo(n, 9);
  });

  it.each(['', 'abc', '16GB', '1.2.3', 'm', '2 Gi', '--1', 'Infinity', 'NaN', '1e999'])(
    '%s is unreadable',
    (q) => {
      expect(quantity(q)).toBeUndefined();
    },
  );

  it('never throws, and answers a finite number or undefined', () => {
    const quantityLike = fc
      .tuple(
        fc.stringMatching(/^[+-]?\d{0,4}(\.\d{0,3})?$/),
        fc.constantFrom('', 'm', 'Ki', 'Gi', 'M', 'e3', 'E-2', 'x', 'i'),
      )
      .map(([n, s]) => n + s);
    fc.assert(
      fc.property(fc.oneof(fc.string(), quantityLike, fc.double()), (q) => {
        const n = quantity(q);
        expect(n === undefined || Number.isFinite(n)).toBe(true);
      }),
    );
  });
});

const node = (o: {
  name?: string;
  cpu?: string;
  memory?: string;
  gpus?: string;
  labels?: Record<string, string>;
  ready?: boolean;
  unschedulable?: boolean;
}): V1Node => ({
  metadata: { name: o.name ?? 'n1', labels: o.labels ?? {} },
  spec: o.unschedulable ? { unschedulable: true } : {},
  status: {
    allocatable: {
      cpu: o.cpu ?? '8',
      memory: o.memory ?? '32Gi',
      ...(o.gpus ? { 'nvidia.com/gpu': o.gpus } : {}),
    },
    conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }],
  },
});

const container = (cpu: string, memory: string) => ({ name: 'c', resources: { requests: { cpu, memory } } });

const pod = (o: {
  containers: ReturnType<typeof container>[];
  init?: ReturnType<typeof container>[];
  phase?: string;
  overhead?: Record<string, string>;
}): V1Pod => ({
  spec: {
    containers: o.containers,
    ...(o.init ? { initContainers: o.init } : {}),
    ...(o.overhead ? { overhead: o.overhead } : {}),
  },
  status: { phase: o.phase ?? 'Running' },
});

describe('nodeLeft', () => {
  it('subtracts the requests of the pods that hold them', () => {
    const pods = [
      pod({ containers: [container('500m', '1Gi'), container('250m', '512Mi')] }),
      pod({ containers: [container('1', '1Gi')], phase: 'Pending' }),
      // Ended pods hold nothing (the scheduler does not count them either).
      pod({ containers: [container('4', '16Gi')], phase: 'Succeeded' }),
      pod({ containers: [container('4', '16Gi')], phase: 'Failed' }),
    ];
    expect(nodeLeft(node({}), pods)).toEqual({ milliCpu: 8000 - 1750, memoryBytes: 32 * Gi - 2.5 * Gi });
  });

  it('counts the larger of the init containers and the containers, plus the pod overhead', () => {
    const init = pod({
      containers: [container('100m', '64Mi')],
      init: [container('2', '128Mi'), container('1', '1Gi')],
    });
    expect(nodeLeft(node({}), [init])).toEqual({ milliCpu: 6000, memoryBytes: 31 * Gi });
    const overhead = pod({ containers: [container('1', '1Gi')], overhead: { cpu: '250m', memory: '120Mi' } });
    expect(nodeLeft(node({}), [overhead])).toEqual({ milliCpu: 6750, memoryBytes: 31 * Gi - 120 * Mi });
  });

  it('never goes below zero', () => {
    expect(
      nodeLeft(node({ cpu: '1', memory: '1Gi' }), [pod({ containers: [container('2', '2Gi')] })]),
    ).toEqual({
      milliCpu: 0,
      memoryBytes: 0,
    });
  });
});

describe('defaultSize', () => {
  it('takes whole CPUs where there is one, and leaves 64 MiB of memory', () => {
    expect(defaultSize({ milliCpu: 3750, memoryBytes: Gi })).toEqual({
      milliCpu: 3000,
      memoryBytes: Gi - 64 * Mi,
    });
    expect(defaultSize({ milliCpu: 750, memoryBytes: 32 * Mi })).toEqual({ milliCpu: 750, memoryBytes: 0 });
  });
});

const quota = (hard: Record<string, string>, used: Record<string, string> = {}): V1ResourceQuota => ({
  spec: { hard },
  status: { hard, used },
});

describe('quotaGpusLeft', () => {
  it('is undefined without a GPU quota, else the least left of any quota', () => {
    expect(quotaGpusLeft([])).toBeUndefined();
    expect(quotaGpusLeft([quota({ 'requests.cpu': '10' })])).toBeUndefined();
    expect(
      quotaGpusLeft([quota({ 'requests.nvidia.com/gpu': '4' }, { 'requests.nvidia.com/gpu': '1' })]),
    ).toBe(3);
    expect(
      quotaGpusLeft([
        quota({ 'requests.nvidia.com/gpu': '4' }, { 'requests.nvidia.com/gpu': '1' }),
        quota({ 'requests.nvidia.com/gpu': '8' }, { 'requests.nvidia.com/gpu': '7' }),
      ]),
    ).toBe(1);
    expect(
      quotaGpusLeft([quota({ 'requests.nvidia.com/gpu': '2' }, { 'requests.nvidia.com/gpu': '5' })]),
    ).toBe(0);
  });

  it('reads a quota not yet counted by the controller (spec only, nothing used)', () => {
    expect(quotaGpusLeft([{ spec: { hard: { 'requests.nvidia.com/gpu': '2' } } }])).toBe(2);
  });
});

describe('describeNodes', () => {
  const l4 = { [GFD.product]: 'NVIDIA-L4', [GFD.memory]: '23034' };
  const a100 = { [GFD.product]: 'NVIDIA-A100-SXM4-80GB' };

  it('the most GPUs of each model on one usable node, named by the GPU feature discovery labels', () => {
    const facts = describeNodes(
      [
        node({ name: 'a', gpus: '2', labels: l4 }),
        node({ name: 'b', gpus: '4', labels: l4 }),
        node({ name: 'c', gpus: '8', labels: l4, ready: false }),
        node({ name: 'd', gpus: '8', labels: a100, unschedulable: true }),
        node({ name: 'e', gpus: '1', labels: a100 }),
        node({ name: 'f' }),
      ],
      [],
    );
    expect(facts.gpus).toEqual([
      { model: 'NVIDIA-L4', count: 4, memoryMiB: 23034 },
      { model: 'NVIDIA-A100-SXM4-80GB', count: 1 },
    ]);
    expect(facts.nvidiaRuntime).toBe(true);
    expect(facts.hasDevice?.('/dev/nvidia0')).toBe(false);
  });

  it('names unlabelled GPUs by their resource, and caps the count by the quota', () => {
    const facts = describeNodes(
      [node({ gpus: '8' })],
      [quota({ 'requests.nvidia.com/gpu': '4' }, { 'requests.nvidia.com/gpu': '1' })],
    );
    expect(facts.gpus).toEqual([{ model: 'nvidia.com/gpu', count: 3 }]);
  });

  it('has no GPUs where the quota is spent or no usable node has any', () => {
    expect(
      describeNodes([node({ gpus: '8' })], [quota({ 'nvidia.com/gpu': '2' }, { 'nvidia.com/gpu': '2' })])
        .gpus,
    ).toEqual([]);
    const none = describeNodes([node({}), node({ gpus: '2', ready: false })], []);
    expect(none.gpus).toEqual([]);
    expect(none.nvidiaRuntime).toBe(false);
  });
});

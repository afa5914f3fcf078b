/**
 * What nodes give (pure): allocatable CPU, memory and `nvidia.com/gpu`, the GPU product as
 * NVIDIA's GPU feature discovery labels it, the namespace's quota on GPUs, and what a node
 * has left once its pods' requests are counted — the benchmark pod's default size.
 */
import type { AcceleratorInfo, HardwareFacts, TargetFacts } from '../../src/core/index.js';
import type { V1Node, V1Pod, V1ResourceQuota } from './api.js';
import { GPU_RESOURCE } from './pod-spec.js';

/** GPU feature discovery's labels (github.com/NVIDIA/gpu-feature-discovery). */
export const GFD = { product: 'nvidia.com/gpu.product', memory: 'nvidia.com/gpu.memory' } as const;

const SUFFIX: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/**
 * A resource quantity as a number (CPU in cores, bytes, counts), as the API writes them
 * (`500m`, `16Gi`, `1e3`, `129M`); `undefined` when unreadable.
 */
export function quantity(q: string | number | undefined): number | undefined {
  if (q === undefined) return undefined;
  if (typeof q === 'number') return Number.isFinite(q) ? q : undefined;
  const m = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$/.exec(
    q.trim(),
  );
  if (!m) return undefined;
  const n = Number(m[1]) * (m[2] ? Number(`1${m[2]}`) : SUFFIX[m[3] ?? '']!);
  return Number.isFinite(n) ? n : undefined;
}

/** A label selector from `key: value` pairs; `undefined` for none. */
export function selectorOf(labels: Readonly<Record<string, string>>): string | undefined {
  const parts = Object.entries(labels).map(([k, v]) => `${k}=${v}`);
  return parts.length ? parts.join(',') : undefined;
}

/** Whether the scheduler could place a new pod on it: Ready, schedulable. */
export function nodeUsable(n: V1Node): boolean {
  if (n.spec?.unschedulable) return false;
  return n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

export function nodeGpus(n: V1Node): number {
  return Math.floor(quantity(n.status?.allocatable?.[GPU_RESOURCE]) ?? 0);
}

export function nodeAccelerators(n: V1Node): AcceleratorInfo[] {
  const count = nodeGpus(n);
  if (count === 0) return [];
  const labels = n.metadata?.labels ?? {};
  const mem = Number(labels[GFD.memory]);
  return [
    {
      model: labels[GFD.product] ?? GPU_RESOURCE,
      count,
      ...(Number.isFinite(mem) && mem > 0 ? { memoryMiB: mem } : {}),
    },
  ];
}

export function nodeHardware(n: V1Node): HardwareFacts {
  const cpu = quantity(n.status?.allocatable?.cpu);
  const memory = quantity(n.status?.allocatable?.memory);
  return {
    ...(cpu ? { cpuCores: Math.floor(cpu) } : {}),
    ...(memory ? { memoryBytes: memory } : {}),
    gpus: nodeAccelerators(n),
    ...(n.status?.nodeInfo?.kernelVersion ? { kernel: n.status.nodeInfo.kernelVersion } : {}),
  };
}

/** GPUs the namespace may still request under its quotas (`requests.nvidia.com/gpu`); `undefined`: no such quota. */
export function quotaGpusLeft(quotas: readonly V1ResourceQuota[]): number | undefined {
  let left: number | undefined;
  for (const q of quotas)
    for (const key of [`requests.${GPU_RESOURCE}`, GPU_RESOURCE]) {
      const hard = quantity(q.status?.hard?.[key] ?? q.spec?.hard?.[key]);
      if (hard === undefined) continue;
      const used = quantity(q.status?.used?.[key]) ?? 0;
      left = Math.min(left ?? Infinity, Math.max(0, hard - used));
    }
  return left;
}

/**
 * What one machine of the target has: the most GPUs of a model on one usable node, capped
 * by the namespace's GPU quota; no device files (a pod gets devices from device plugins).
 */
export function describeNodes(nodes: readonly V1Node[], quotas: readonly V1ResourceQuota[]): TargetFacts {
  const most = new Map<string, AcceleratorInfo>();
  for (const n of nodes.filter(nodeUsable))
    for (const g of nodeAccelerators(n)) if ((most.get(g.model)?.count ?? 0) < g.count) most.set(g.model, g);
  const cap = quotaGpusLeft(quotas);
  const gpus = [...most.values()]
    .map((g) => (cap === undefined ? g : { ...g, count: Math.min(g.count, cap) }))
    .filter((g) => g.count > 0);
  return { gpus, fpgas: [], nvidiaRuntime: gpus.length > 0, hasDevice: () => false };
}

/** Pods that still hold their requests on a node (not Succeeded/Failed). */
function holding(p: V1Pod): boolean {
  return p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed';
}

function podRequest(p: V1Pod, resource: 'cpu' | 'memory'): number {
  const sum = (cs: readonly { resources?: { requests?: Record<string, string> } }[] | undefined) =>
    (cs ?? []).reduce((a, c) => a + (quantity(c.resources?.requests?.[resource]) ?? 0), 0);
  // Init containers run one at a time before the others: the pod needs the larger of the two.
  const init = Math.max(
    0,
    ...(p.spec?.initContainers ?? []).map((c) => quantity(c.resources?.requests?.[resource]) ?? 0),
  );
  return Math.max(sum(p.spec?.containers), init) + (quantity(p.spec?.overhead?.[resource]) ?? 0);
}

/** CPU (millicores) and memory (bytes) the node has left for one more pod. */
export function nodeLeft(n: V1Node, pods: readonly V1Pod[]): { milliCpu: number; memoryBytes: number } {
  const live = pods.filter(holding);
  const cpu =
    (quantity(n.status?.allocatable?.cpu) ?? 0) - live.reduce((a, p) => a + podRequest(p, 'cpu'), 0);
  const mem =
    (quantity(n.status?.allocatable?.memory) ?? 0) - live.reduce((a, p) => a + podRequest(p, 'memory'), 0);
  return { milliCpu: Math.max(0, Math.floor(cpu * 1000)), memoryBytes: Math.max(0, Math.floor(mem)) };
}

/**
 * A benchmark pod's size by default: whole CPUs of what is left (so a node's static CPU
 * manager can give it cores of its own; less than one CPU stays as it is) and what memory
 * is left less a margin for the keeper container and rounding.
 */
export function defaultSize(left: { milliCpu: number; memoryBytes: number }): {
  milliCpu: number;
  memoryBytes: number;
} {
  const milliCpu = left.milliCpu >= 1000 ? Math.floor(left.milliCpu / 1000) * 1000 : left.milliCpu;
  return { milliCpu, memoryBytes: Math.max(0, left.memoryBytes - 64 * 1024 * 1024) };
}

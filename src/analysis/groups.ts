/** The axes results are grouped along, and which group and cell a result belongs to. */
import type { MachineRecord, RepetitionResult } from '../core/index.js';

/** What to group by: a result field, the machine's hardware, or `param:<name>`. */
export type Axis =
  | 'target'
  | 'provider'
  | 'instance-type'
  | 'gpu-model'
  | 'fingerprint'
  | 'node'
  | 'run'
  | 'image'
  | `param:${string}`;

export const AXES: readonly Axis[] = [
  'target',
  'provider',
  'instance-type',
  'gpu-model',
  'fingerprint',
  'node',
  'run',
  'image',
];

/** Axes along which machines differ by design: different hardware is not worth a warning there. */
export const HARDWARE_AXES: readonly Axis[] = [
  'target',
  'provider',
  'instance-type',
  'gpu-model',
  'fingerprint',
];

/** `axis` when it names one (`param:<name>` included), else undefined. */
export function parseAxis(text: string): Axis | undefined {
  return (AXES as readonly string[]).includes(text) || /^param:[a-z][a-z0-9_]*$/.test(text)
    ? (text as Axis)
    : undefined;
}

/** A machine's GPUs as one group name: `2× NVIDIA H200`, `none`, or `(unknown)`. */
export function gpuModelOf(machine: MachineRecord | undefined): string {
  const gpus = (machine?.hardware as { gpus?: { model?: string }[] } | undefined)?.gpus;
  if (!machine || gpus === undefined) return '(unknown)';
  if (gpus.length === 0) return 'none';
  const counts = new Map<string, number>();
  for (const g of gpus) counts.set(g.model ?? '(unnamed)', (counts.get(g.model ?? '(unnamed)') ?? 0) + 1);
  return [...counts]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([model, n]) => (n > 1 ? `${n}× ${model}` : model))
    .join(' + ');
}

export function groupOf(
  r: RepetitionResult,
  axis: Axis,
  machines: ReadonlyMap<string, MachineRecord> = new Map(),
): string {
  if (axis.startsWith('param:')) {
    // The name is the user's (`--by param:constructor`): only the result's own params count.
    const name = axis.slice(6);
    return Object.hasOwn(r.params, name) ? String(r.params[name] ?? '(unset)') : '(unset)';
  }
  switch (axis) {
    case 'gpu-model':
      return gpuModelOf(machines.get(machineKey(r)));
    case 'fingerprint':
      return r.fingerprint ?? '(unknown)';
    case 'target':
      return r.target;
    case 'provider':
      return r.provider;
    case 'instance-type':
      return r.instanceType;
    case 'run':
      return r.runId;
    case 'image':
      return r.imageDigest;
    case 'node':
      // The host a scheduler ran it on (a Slurm node), else the machine's host name.
      return (
        machines.get(machineKey(r))?.placement?.node ?? machines.get(machineKey(r))?.hostname ?? r.machineId
      );
  }
  return '(unknown)';
}

export function machineKey(m: { runId: string; machineId: string }): string {
  return `${m.runId}\u0000${m.machineId}`;
}

/** What is compared, without the axis: benchmark and params (and the target unless grouping by hardware). */
export function cellOf(r: RepetitionResult, axis: Axis): string {
  const params = Object.entries(r.params)
    .filter(([k]) => axis !== `param:${k}`)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');
  return [r.benchmark, params, HARDWARE_AXES.includes(axis) ? '' : `@${r.target}`].filter(Boolean).join(' ');
}

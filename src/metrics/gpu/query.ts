/**
 * The `nvidia-smi --query-gpu` field list and a pure parser for one line of its
 * `--format=csv,noheader,nounits` output, e.g.
 *
 *     GPU-d37e67a5-91dd-3774-a5cb-99096249601a, 0, Tesla T4, 0, 0, 1032, 15360, 26.78, 40, 585, 0x0000000000000000
 *
 * Each line is one GPU at one instant; it becomes readings of scope `gpu` whose `device`
 * is the GPU's uuid. A value nvidia-smi cannot give (`[N/A]`, `[Not Supported]`,
 * `[Unknown Error]`, `N/A`, empty, …) skips that metric for that line: never NaN, never 0.
 *
 * Only fields `nvidia-smi --help-query-gpu` documents are asked for (`selectGpuQueryFields`,
 * help-query.ts). `total_energy_consumption` is not one on any recorded driver (465 to 610,
 * test/fixtures/nvidia-smi-help/SOURCE.md): the energy counter is NVML's
 * `nvmlDeviceGetTotalEnergyConsumption` only, so GPU energy is not read from nvidia-smi.
 */
import type { Reading } from '../reading.js';

/**
 * What is asked for when the driver's help cannot be read, in this order: every one is
 * listed by `--help-query-gpu` of each recorded driver (465.27 to 610.57, proven by
 * test/unit/gpu-help-query.test.ts).
 */
export const GPU_QUERY_FIELDS = [
  'uuid',
  'index',
  'name',
  'utilization.gpu',
  'utilization.memory',
  'memory.used',
  'memory.total',
  'power.draw',
  'temperature.gpu',
  'clocks.sm',
  'clocks_throttle_reasons.active',
] as const;

/**
 * The clock-reason bitmask's names: `clocks_event_reasons.active` since driver 535, where
 * `clocks_throttle_reasons.active` became its alias; older drivers know only the latter.
 */
export const GPU_THROTTLE_MASK_FIELDS = [
  'clocks_event_reasons.active',
  'clocks_throttle_reasons.active',
] as const;

export type GpuQueryField = (typeof GPU_QUERY_FIELDS)[number] | (typeof GPU_THROTTLE_MASK_FIELDS)[number];

/**
 * What the stream wants from a driver that documents its fields: one entry per reading,
 * each the names it has had, preferred first.
 */
export const GPU_QUERY_WANTED: readonly (readonly GpuQueryField[])[] = [
  ...GPU_QUERY_FIELDS.filter((f) => f !== 'clocks_throttle_reasons.active').map((f) => [f]),
  GPU_THROTTLE_MASK_FIELDS,
];

/** Fields without which a line is useless: nvidia-smi rejecting one of them means no GPU metrics. */
export const REQUIRED_GPU_QUERY_FIELDS: readonly GpuQueryField[] = ['uuid'];

export function isGpuQueryField(field: string): field is GpuQueryField {
  return GPU_QUERY_WANTED.some((names) => (names as readonly string[]).includes(field));
}

/** Whether the field can be left out of the query (an older driver that does not know it). */
export function isDroppableGpuQueryField(field: string): field is GpuQueryField {
  return isGpuQueryField(field) && !REQUIRED_GPU_QUERY_FIELDS.includes(field);
}

/** Another name of the same reading that a driver rejecting `field` may know. */
export function alternativeGpuQueryField(field: GpuQueryField): GpuQueryField | undefined {
  const names = GPU_QUERY_WANTED.find((n) => n.includes(field)) ?? [];
  return names[names.indexOf(field) + 1];
}

/** Clock throttle reason bits, as NVML's `nvmlClocksThrottleReason*` constants define them. */
export const GPU_THROTTLE_REASONS = [
  ['gpu_idle', 0x1],
  ['applications_clocks_setting', 0x2],
  ['sw_power_cap', 0x4],
  ['hw_slowdown', 0x8],
  ['sync_boost', 0x10],
  ['sw_thermal_slowdown', 0x20],
  ['hw_thermal_slowdown', 0x40],
  ['hw_power_brake_slowdown', 0x80],
  ['display_clock_setting', 0x100],
] as const;

const MIB = 1024 * 1024;

/** The plain numeric fields: the metric each becomes, and the factor from nvidia-smi's unit. */
const NUMERIC: Partial<Record<GpuQueryField, { name: string; unit: string; factor: number }>> = {
  'utilization.gpu': { name: 'gpu.utilization.pct', unit: 'pct', factor: 1 },
  'utilization.memory': { name: 'gpu.memory.utilization.pct', unit: 'pct', factor: 1 },
  'memory.used': { name: 'gpu.memory.used.bytes', unit: 'bytes', factor: MIB },
  'memory.total': { name: 'gpu.memory.total.bytes', unit: 'bytes', factor: MIB },
  'power.draw': { name: 'gpu.power.draw.watts', unit: 'W', factor: 1 },
  'temperature.gpu': { name: 'gpu.temperature.celsius', unit: 'C', factor: 1 },
  'clocks.sm': { name: 'gpu.clock.sm.mhz', unit: 'MHz', factor: 1 },
};

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const HEX = /^0[xX][0-9a-fA-F]{1,16}$/;
const UUID = /^(GPU|MIG)-[0-9A-Za-z-]+$/;
const UNAVAILABLE = /^(\[.*\]|N\/A)$/i;

/** The arguments of the long-running query: one line per GPU every `intervalMs`. */
export function gpuQueryArgs(fields: readonly GpuQueryField[], intervalMs: number): string[] {
  return [
    `--query-gpu=${fields.join(',')}`,
    '--format=csv,noheader,nounits',
    '-lms',
    String(Math.max(1, Math.round(intervalMs))),
  ];
}

export interface GpuQueryRow {
  uuid: string;
  index?: number;
  name?: string;
  readings: Reading[];
}

/**
 * Parses one output line queried with `fields`; `at` is when the line was received.
 * Returns undefined for a line that is not a data line (a message such as
 * `No devices were found`, a wrong number of values, no uuid).
 */
export function parseGpuQueryRow(
  line: string,
  at: number,
  fields: readonly GpuQueryField[] = GPU_QUERY_FIELDS,
): GpuQueryRow | undefined {
  const values = splitValues(line, fields);
  if (!values) return undefined;
  const get = (f: GpuQueryField): string | undefined => {
    const i = fields.indexOf(f);
    return i < 0 ? undefined : values[i];
  };
  const uuid = get('uuid');
  if (!uuid || !UUID.test(uuid)) return undefined;

  const readings: Reading[] = [];
  const add = (name: string, unit: string, value: number) =>
    readings.push({ scope: 'gpu', name, unit, value, timestamp: at, device: uuid });

  for (const field of fields) {
    const metric = NUMERIC[field];
    const n = metric && number(get(field));
    if (metric && n !== undefined) add(metric.name, metric.unit, n * metric.factor);
  }
  const mask = bitmask(get('clocks_event_reasons.active') ?? get('clocks_throttle_reasons.active'));
  if (mask !== undefined) {
    add('gpu.throttle.active', 'bitmask', Number(mask));
    for (const [reason, bit] of GPU_THROTTLE_REASONS)
      add(`gpu.throttle.${reason}`, 'bool', (mask & BigInt(bit)) === 0n ? 0 : 1);
  }

  const index = number(get('index'));
  const name = get('name');
  return {
    uuid,
    ...(index !== undefined && Number.isInteger(index) ? { index } : {}),
    ...(name && !UNAVAILABLE.test(name) ? { name } : {}),
    readings,
  };
}

/** The readings of one output line (see `parseGpuQueryRow`); none for a line that is not data. */
export function parseGpuQueryLine(
  line: string,
  at: number,
  fields: readonly GpuQueryField[] = GPU_QUERY_FIELDS,
): Reading[] {
  return parseGpuQueryRow(line, at, fields)?.readings ?? [];
}

/**
 * Splits on commas and trims. The product name is the only free text: should it ever hold
 * a comma, the surplus pieces are joined back into it.
 */
function splitValues(line: string, fields: readonly GpuQueryField[]): string[] | undefined {
  const parts = line.split(',').map((p) => p.trim());
  const surplus = parts.length - fields.length;
  const nameAt = fields.indexOf('name');
  if (surplus > 0 && nameAt >= 0)
    parts.splice(nameAt, surplus + 1, parts.slice(nameAt, nameAt + surplus + 1).join(', '));
  return parts.length === fields.length ? parts : undefined;
}

function number(raw: string | undefined): number | undefined {
  if (raw === undefined || !NUMBER.test(raw)) return undefined;
  const n = Number(raw);
  return Number.isFinite(n) ? n : undefined;
}

function bitmask(raw: string | undefined): bigint | undefined {
  return raw !== undefined && HEX.test(raw) ? BigInt(raw.toLowerCase()) : undefined;
}

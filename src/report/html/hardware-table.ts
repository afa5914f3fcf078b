/**
 * The groups' machines side by side (a column per group, a row per property), from the
 * stored machine records and their fingerprints, so a reader sees what else differed
 * besides the axis. Pure.
 */
import { groupOf, type Axis } from '../../analysis/compare.js';
import type { MachineRecord, RepetitionResult } from '../../core/index.js';
import type { HardwareTable } from './chart-data.js';

/** The part of a stored fingerprint (src/fingerprint's `Fingerprint`) shown here; all optional. */
interface StoredHardware {
  cpu?: {
    model?: string;
    sockets?: number;
    cores?: number;
    threads?: number;
    governor?: string;
    caches?: { level: number; type: string; sizeBytes: number }[];
  };
  memory?: { totalBytes?: number };
  disks?: { name?: string; sizeBytes?: number; rotational?: boolean; model?: string }[];
  gpus?: { model?: string; driverVersion?: string }[];
  fpgas?: { model?: string; vendor?: string }[];
  os?: { prettyName?: string };
  kernel?: string;
  virtualization?: string;
  docker?: { version?: string; storageDriver?: string; cgroupVersion?: string };
}

type Property = [label: string, value: (m: MachineRecord, hw: StoredHardware) => string | undefined];

const PROPERTIES: Property[] = [
  ['provider', (m) => m.provider],
  ['instance type', (m) => m.instanceType],
  ['region / zone', (m) => [m.region, m.zone].filter(Boolean).join(' / ') || undefined],
  ['CPU', (_m, hw) => hw.cpu?.model],
  [
    'sockets / cores / threads',
    (_m, hw) =>
      hw.cpu?.threads ? `${hw.cpu.sockets ?? '?'} / ${hw.cpu.cores ?? '?'} / ${hw.cpu.threads}` : undefined,
  ],
  [
    'caches (L2, L3)',
    (_m, hw) =>
      hw.cpu?.caches
        ?.filter((c) => c.level >= 2)
        .map((c) => `L${c.level} ${bytes(c.sizeBytes)}`)
        .join(', ') || undefined,
  ],
  ['CPU governor', (_m, hw) => hw.cpu?.governor],
  ['memory', (_m, hw) => (hw.memory?.totalBytes ? bytes(hw.memory.totalBytes) : undefined)],
  [
    'GPUs',
    (_m, hw) =>
      hw.gpus === undefined
        ? undefined
        : hw.gpus.length === 0
          ? 'none'
          : counted(
              hw.gpus.map(
                (g) => `${g.model ?? '(unnamed)'}${g.driverVersion ? ` (driver ${g.driverVersion})` : ''}`,
              ),
            ),
  ],
  [
    'FPGAs',
    (_m, hw) =>
      hw.fpgas?.length ? counted(hw.fpgas.map((f) => f.model ?? f.vendor ?? '(unnamed)')) : undefined,
  ],
  [
    'disks',
    (_m, hw) =>
      hw.disks
        ?.map((d) =>
          `${d.name ?? '?'} ${d.sizeBytes ? bytes(d.sizeBytes) : ''}${d.rotational ? ' rotational' : ''}`.trim(),
        )
        .join(', ') || undefined,
  ],
  ['OS', (_m, hw) => hw.os?.prettyName],
  ['kernel', (_m, hw) => hw.kernel],
  ['virtualization', (_m, hw) => hw.virtualization],
  [
    'Docker',
    (_m, hw) =>
      hw.docker?.version
        ? [
            hw.docker.version,
            hw.docker.storageDriver,
            hw.docker.cgroupVersion && `cgroup v${hw.docker.cgroupVersion}`,
          ]
            .filter(Boolean)
            .join(', ')
        : undefined,
  ],
  ['fingerprint', (m) => m.fingerprint],
];

export interface HardwareInput {
  axis: Axis;
  /** The comparison's groups, baseline first. */
  groups: readonly string[];
  results: readonly RepetitionResult[];
  machines: readonly MachineRecord[];
  /** Median hourly price per group, as the comparison has it. */
  prices?: readonly { group: string; hourlyPriceUsd?: number }[];
}

/** A column per group; rows that no machine answers are left out. */
export function buildHardwareTable(input: HardwareInput): HardwareTable {
  const key = (m: { runId: string; machineId: string }) => `${m.runId}\u0000${m.machineId}`;
  const byKey = new Map(input.machines.map((m) => [key(m), m]));
  const members = new Map<string, Map<string, MachineRecord>>(input.groups.map((g) => [g, new Map()]));
  for (const r of input.results) {
    const m = byKey.get(key(r));
    const group = members.get(groupOf(r, input.axis, byKey));
    // The same machine in several runs (by hostname and fingerprint) is one column entry.
    if (m && group) group.set(`${m.hostname}\u0000${m.fingerprint}`, m);
  }
  const columns = input.groups.map((g) => [...members.get(g)!.values()]);
  const rows: HardwareTable['rows'] = [
    {
      label: 'machines',
      values: columns.map((ms) =>
        ms.length === 0
          ? '(none recorded)'
          : `${ms.length}: ${ms
              .slice(0, 3)
              .map((m) => m.hostname)
              .join(', ')}${ms.length > 3 ? ', …' : ''}`,
      ),
      differs: false,
    },
  ];
  for (const [label, value] of PROPERTIES) {
    const values = columns.map((ms) =>
      [...new Set(ms.map((m) => value(m, hardwareOf(m)) ?? ''))].filter(Boolean).join(' | '),
    );
    if (values.every((v) => v === '')) continue;
    rows.push({ label, values, differs: new Set(values).size > 1 });
  }
  const prices = input.groups.map((g) => input.prices?.find((p) => p.group === g)?.hourlyPriceUsd);
  if (prices.some((p) => p !== undefined)) {
    const values = prices.map((p) => (p === undefined ? '' : `$${p.toFixed(3)}`));
    rows.push({ label: 'price per hour', values, differs: new Set(values).size > 1 });
  }
  return { groups: [...input.groups], rows };
}

function hardwareOf(m: MachineRecord): StoredHardware {
  return m.hardware !== null && typeof m.hardware === 'object' ? (m.hardware as StoredHardware) : {};
}

/** `2× NVIDIA H200`, one entry per distinct name. */
function counted(names: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const n of names) counts.set(n, (counts.get(n) ?? 0) + 1);
  return [...counts].map(([n, k]) => (k > 1 ? `${k}× ${n}` : n)).join(' + ');
}

function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${Number.isInteger(v) ? v : v.toFixed(1)} ${units[i]}`;
}

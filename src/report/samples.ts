/**
 * A run's metric samples for a terminal (`results --samples`): chosen by cell, machine,
 * scope and metric; listed one by one when few, else one row per series with its count,
 * min, median and max, a table per machine and cell.
 */
import { median } from 'simple-statistics';
import type { MachineRecord, MetricSample, MetricScope, StoredCell } from '../core/index.js';
import { wrapText } from './fit.js';
import { formatNumber, formatParams } from './summary.js';
import { dataTable, machineLabel } from './tables.js';
import { escapeControl } from './terminal-text.js';

export interface SampleFilter {
  /** Cell ids, or their beginnings (`fc78` for `fc7868ecea38`). */
  cells?: readonly string[];
  /** A machine id, a host name, or `target/host` as the tables show it. */
  machines?: readonly string[];
  scopes?: readonly MetricScope[];
  /** Metric names; `*` matches any run of characters (`host.cpu.*`). */
  metrics?: readonly string[];
}

/** How a run names its machines: `target/host` where a host served one target, else the host. */
export class MachineNames {
  private readonly hosts = new Map<string, string>();
  private readonly targets = new Map<string, Set<string>>();

  constructor(machines: readonly Pick<MachineRecord, 'machineId' | 'target' | 'hostname'>[]) {
    for (const m of machines) {
      this.hosts.set(m.machineId, m.hostname);
      this.targets.set(m.hostname, (this.targets.get(m.hostname) ?? new Set()).add(m.target));
    }
  }

  /** Machine id → host name (the id itself where the run kept no record of the machine). */
  get hostById(): ReadonlyMap<string, string> {
    return this.hosts;
  }

  /** The label of a sample's host. */
  ofHost(host: string): string {
    const targets = [...(this.targets.get(host) ?? [])];
    return machineLabel(targets.length === 1 ? targets[0]! : '', host);
  }

  /** Whether `query` names this machine: its id, its host, or its label. */
  names(query: string, m: { machineId?: string; host: string; target?: string }): boolean {
    return (
      query === m.machineId ||
      query === m.host ||
      query === (m.target !== undefined ? machineLabel(m.target, m.host) : this.ofHost(m.host))
    );
  }
}

export function selectSamples(
  samples: readonly MetricSample[],
  filter: SampleFilter,
  names: MachineNames,
): MetricSample[] {
  const metric = filter.metrics?.length ? globs(filter.metrics) : undefined;
  return samples.filter(
    (s) =>
      (!filter.cells?.length || filter.cells.some((c) => s.cellId !== '' && s.cellId.startsWith(c))) &&
      (!filter.machines?.length || filter.machines.some((m) => names.names(m, { host: s.host }))) &&
      (!filter.scopes?.length || filter.scopes.includes(s.scope)) &&
      (!metric || metric.test(s.name)),
  );
}

function globs(patterns: readonly string[]): RegExp {
  const one = (p: string) =>
    p
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*');
  return new RegExp(`^(?:${patterns.map(one).join('|')})$`);
}

export interface SamplesView {
  width?: number | undefined;
  names: MachineNames;
  /** The run's cells in plan order: sections follow it and their headings say what ran. */
  cells?: readonly Pick<StoredCell, 'id' | 'benchmark' | 'params'>[];
}

/**
 * One section per machine and cell, headed by what ran there, with a row per series: metric
 * and device (and repetition with `perRepetition`), its number of samples, min, median, max.
 * A table per cell rather than a cell column: the heading can say what the cell ran, and the
 * table keeps to a width that 80 columns hold.
 */
export function seriesTable(
  samples: readonly MetricSample[],
  view: SamplesView & { perRepetition?: boolean },
): string {
  const sections = new Map<string, { host: string; cellId: string; series: Map<string, Series> }>();
  for (const s of samples) {
    const where = `${s.host}\u0000${s.cellId}`;
    let section = sections.get(where);
    if (!section) sections.set(where, (section = { host: s.host, cellId: s.cellId, series: new Map() }));
    const key = [view.perRepetition ? s.repetition : '', s.scope, s.name, s.device ?? ''].join('\u0000');
    const e = section.series.get(key);
    if (e) e.values.push(s.value);
    else section.series.set(key, { s, values: [s.value] });
  }
  const cells = new Map((view.cells ?? []).map((c, i) => [c.id, { c, i }]));
  const rank = (id: string) => (id === '' ? -1 : (cells.get(id)?.i ?? cells.size));
  const ordered = [...sections.values()].sort(
    (a, b) =>
      a.host.localeCompare(b.host) || rank(a.cellId) - rank(b.cellId) || a.cellId.localeCompare(b.cellId),
  );
  return ordered
    .map(({ host, cellId, series }) => {
      const c = cells.get(cellId)?.c;
      const what =
        cellId === ''
          ? 'between repetitions'
          : `cell ${cellId}${c ? `: ${[escapeControl(c.benchmark), formatParams(c.params)].filter(Boolean).join(' ')}` : ''}`;
      const heading = wrapText(`${view.names.ofHost(host)} · ${what}`, view.width ?? Infinity).join('\n');
      return `${heading}\n${seriesRows([...series.values()], view)}`;
    })
    .join('\n');
}

interface Series {
  s: MetricSample;
  values: number[];
}

function seriesRows(series: Series[], view: SamplesView & { perRepetition?: boolean }): string {
  const rows = series.sort(
    (a, b) =>
      (view.perRepetition ? a.s.repetition - b.s.repetition : 0) ||
      a.s.name.localeCompare(b.s.name) ||
      (a.s.device ?? '').localeCompare(b.s.device ?? ''),
  );
  return dataTable(
    [...(view.perRepetition ? ['rep'] : []), 'metric', 'device', 'unit', 'n', 'min', 'median', 'max'],
    rows.map(({ s, values }) => [
      ...(view.perRepetition ? [s.repetition ? String(s.repetition) : '-'] : []),
      s.name,
      s.device ?? '',
      s.unit,
      values.length,
      // Not Math.min(...values): a long series is more arguments than a call takes.
      compactNumber(values.reduce((a, b) => Math.min(a, b))),
      compactNumber(median(values)),
      compactNumber(values.reduce((a, b) => Math.max(a, b))),
    ]),
    view.width,
  );
}

/** Every sample, in time order: seconds since `since` (the run's start), where, what, value. */
export function samplesTable(
  samples: readonly MetricSample[],
  view: SamplesView & { since: number },
): string {
  return dataTable(
    ['time', 'machine', 'cell', 'rep', 'metric', 'device', 'value'],
    [...samples]
      .sort((a, b) => a.timestamp - b.timestamp || a.name.localeCompare(b.name))
      .map((s) => [
        `+${((s.timestamp - view.since) / 1000).toFixed(3)}s`,
        view.names.ofHost(s.host),
        s.cellId || '-',
        s.repetition ? String(s.repetition) : '-',
        s.name,
        s.device ?? '',
        `${compactNumber(s.value)} ${s.unit}`,
      ]),
    view.width,
  );
}

const SI = ['', 'k', 'M', 'G', 'T', 'P', 'E'];

/**
 * `265.1M` for 265067371: 4 significant digits and an SI prefix from 100,000 up, so byte
 * counts and rates keep a column narrow; smaller values as {@link formatNumber}.
 */
export function compactNumber(n: number): string {
  if (!Number.isFinite(n) || Math.abs(n) < 1e5) return formatNumber(n);
  const power = Math.min(SI.length - 1, Math.floor(Math.log10(Math.abs(n)) / 3));
  let scaled = n / 1000 ** power;
  let prefix = SI[power]!;
  // 999,960 rounds to 1000k: one prefix up instead.
  if (Math.abs(Number(scaled.toPrecision(4))) >= 1000 && power < SI.length - 1) {
    scaled /= 1000;
    prefix = SI[power + 1]!;
  }
  return `${Number(scaled.toPrecision(4))}${prefix}`;
}

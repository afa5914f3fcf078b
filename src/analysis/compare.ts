/**
 * Compares groups of results along one axis (target, run, a param, GPU model, ...)
 * against a baseline group: per cell and score, the % difference of medians with a
 * bootstrap CI, a Mann-Whitney p-value Holm-corrected over all comparisons, and a verdict
 * that respects the score's direction; the cost of a repetition and performance per
 * dollar from the hourly price on each result; plus a geometric mean over the cells every
 * group completed. Pure.
 */
import { geometricMean, median } from 'simple-statistics';
import type { Direction, MachineRecord, RepetitionResult } from '../core/index.js';
import { bootstrapDiffPct, type Interval } from './bootstrap.js';
import { summarize, type SampleSummary } from './describe.js';
import { holm } from './holm.js';
import { mannWhitney } from './mann-whitney.js';

/** What to group by: a result field, the machine's hardware, or `param:<name>`. */
export type Axis =
  'target' | 'provider' | 'instance-type' | 'gpu-model' | 'fingerprint' | 'run' | 'image' | `param:${string}`;

export const AXES: readonly Axis[] = [
  'target',
  'provider',
  'instance-type',
  'gpu-model',
  'fingerprint',
  'run',
  'image',
];

/** Axes along which machines differ by design: different hardware is not worth a warning there. */
const HARDWARE_AXES: readonly Axis[] = ['target', 'provider', 'instance-type', 'gpu-model', 'fingerprint'];

/** `axis` when it names one (`param:<name>` included), else undefined. */
export function parseAxis(text: string): Axis | undefined {
  return (AXES as readonly string[]).includes(text) || /^param:[a-z][a-z0-9_]*$/.test(text)
    ? (text as Axis)
    : undefined;
}

export type Verdict = 'baseline' | 'better' | 'worse' | 'no significant difference';

export interface GroupStats extends SampleSummary {
  group: string;
  /** The measured values, in the order they were measured. */
  values: number[];
  /** Median hourly price (USD) recorded on the group's results; absent when none was. */
  hourlyPriceUsd?: number;
  /** Median cost of one repetition: hourly price × its duration (USD). */
  costPerRepetitionUsd?: number;
  /** Higher-is-better scores: median ÷ hourly price (score units per USD-hour). */
  perDollar?: number;
  diffPct?: number;
  ci?: Interval;
  p?: number;
  pAdjusted?: number;
  verdict?: Verdict;
}

export interface CompareRow {
  /** What is compared, without the axis: benchmark and params (and target unless grouping by it). */
  cell: string;
  benchmark: string;
  score: string;
  unit: string;
  direction: Direction;
  groups: GroupStats[];
}

export interface Comparison {
  axis: Axis;
  baseline: string;
  groups: string[];
  rows: CompareRow[];
  /**
   * Per contender: geometric mean of direction-adjusted ratios over rows every group has
   * (> 1 is better); `perDollarRatio` the same divided by the ratio of hourly prices
   * (contender ÷ baseline), where both groups recorded one.
   */
  geomean: { group: string; ratio: number; rows: number; perDollarRatio?: number }[];
  /** Median hourly price (USD) per group, where its results recorded one. */
  prices: { group: string; hourlyPriceUsd?: number }[];
  warnings: string[];
  alpha: number;
}

export interface CompareOptions {
  by: Axis;
  /** Baseline group; default: the first group seen. */
  baseline?: string;
  /** Significance level for the verdict (after Holm). @default 0.05 */
  alpha?: number;
  /** The runs' machines (their hardware): needed for `gpu-model`. */
  machines?: readonly MachineRecord[];
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
  }
  return '(unknown)';
}

function machineKey(m: { runId: string; machineId: string }): string {
  return `${m.runId}\u0000${m.machineId}`;
}

function cellOf(r: RepetitionResult, axis: Axis): string {
  const params = Object.entries(r.params)
    .filter(([k]) => axis !== `param:${k}`)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');
  return [r.benchmark, params, HARDWARE_AXES.includes(axis) ? '' : `@${r.target}`].filter(Boolean).join(' ');
}

export function compare(results: readonly RepetitionResult[], opts: CompareOptions): Comparison {
  const alpha = opts.alpha ?? 0.05;
  const machines = new Map((opts.machines ?? []).map((m) => [machineKey(m), m]));
  const groupFor = (r: RepetitionResult) => groupOf(r, opts.by, machines);
  // A fixed order (not the store's), so SQLite and Elasticsearch give the same report.
  const passed = results
    .filter((r) => r.status === 'passed' && !r.warmup && !r.control)
    .sort(
      (a, b) =>
        a.startedAt.localeCompare(b.startedAt) ||
        a.cellId.localeCompare(b.cellId) ||
        a.repetition - b.repetition,
    );
  const groups = [...new Set(passed.map(groupFor))];
  const baseline = opts.baseline ?? groups[0] ?? '';
  if (opts.baseline !== undefined && !groups.includes(opts.baseline))
    throw new RangeError(
      `baseline '${opts.baseline}' is not among the groups (${groups.join(', ') || 'none'})`,
    );
  const ordered = [baseline, ...groups.filter((g) => g !== baseline)];

  // cell → score → group → the results' values (with what each repetition cost)
  const table = new Map<
    string,
    Map<
      string,
      { meta: RepetitionResult['scores'][number]; benchmark: string; byGroup: Map<string, Measured[]> }
    >
  >();
  // cell → what should be equal across groups → values seen; group → fingerprints seen
  const sameness = new Map<string, Map<string, Set<string>>>();
  const hardware = new Map<string, Set<string>>();
  const prices = new Map<string, number[]>();
  for (const r of passed) {
    const cell = cellOf(r, opts.by);
    const group = groupFor(r);
    const scores = table.get(cell) ?? new Map();
    table.set(cell, scores);
    for (const s of r.scores) {
      const entry = scores.get(s.name) ?? {
        meta: s,
        benchmark: r.benchmark,
        byGroup: new Map<string, Measured[]>(),
      };
      scores.set(s.name, entry);
      entry.byGroup.set(group, [
        ...(entry.byGroup.get(group) ?? []),
        { value: s.value, priceUsd: r.hourlyPriceUsd, durationMs: r.durationMs },
      ]);
    }
    if (r.hourlyPriceUsd !== undefined) prices.set(group, [...(prices.get(group) ?? []), r.hourlyPriceUsd]);
    if (r.fingerprint) hardware.set(group, (hardware.get(group) ?? new Set()).add(r.fingerprint));
    const same = sameness.get(cell) ?? new Map<string, Set<string>>();
    sameness.set(cell, same);
    const checks: [string, string | undefined][] = [
      ['image digest', opts.by === 'image' ? undefined : r.imageDigest],
      ['benchmark version', String(r.benchmarkVersion)],
      ['hardware fingerprint', HARDWARE_AXES.includes(opts.by) ? undefined : r.fingerprint],
    ];
    for (const [what, v] of checks) if (v !== undefined) same.set(what, (same.get(what) ?? new Set()).add(v));
  }

  const rows: CompareRow[] = [];
  for (const [cell, scores] of table) {
    for (const [score, { meta, benchmark, byGroup }] of scores) {
      const base = (byGroup.get(baseline) ?? []).map((m) => m.value);
      rows.push({
        cell,
        benchmark,
        score,
        unit: meta.unit,
        direction: meta.direction,
        groups: ordered.map((group): GroupStats => {
          const measured = byGroup.get(group) ?? [];
          const values = measured.map((m) => m.value);
          const stats: GroupStats = {
            group,
            ...summarize(values),
            values,
            ...costOf(measured, meta.direction),
          };
          if (group === baseline) return { ...stats, verdict: 'baseline' };
          if (values.length === 0 || base.length === 0) return stats;
          const bMedian = summarize(base).median;
          return {
            ...stats,
            diffPct: bMedian === 0 ? NaN : 100 * (stats.median / bMedian - 1),
            ci: bootstrapDiffPct(base, values),
            p: mannWhitney(values, base).p,
          };
        }),
      });
    }
  }

  // Holm over every contender comparison in the report.
  const tested = rows.flatMap((row) => row.groups.filter((g) => g.p !== undefined));
  holm(tested.map((g) => g.p!)).forEach((pAdj, i) => {
    const g = tested[i]!;
    g.pAdjusted = pAdj;
  });
  for (const row of rows)
    for (const g of row.groups) {
      if (g.pAdjusted === undefined || g.diffPct === undefined) continue;
      const improved = row.direction === 'higher' ? g.diffPct > 0 : g.diffPct < 0;
      g.verdict = g.pAdjusted < alpha ? (improved ? 'better' : 'worse') : 'no significant difference';
    }

  const groupPrice = (g: string) => {
    const ps = prices.get(g);
    return ps && ps.length > 0 ? median(ps) : undefined;
  };
  const complete = rows.filter((row) => row.groups.every((g) => g.n > 0));
  const geomean = ordered.slice(1).map((group) => {
    const ratios = complete.map((row) => {
      const b = row.groups[0]!.median;
      const c = row.groups.find((g) => g.group === group)!.median;
      return row.direction === 'higher' ? c / b : b / c;
    });
    const usable = ratios.filter((x) => Number.isFinite(x) && x > 0);
    const ratio = usable.length > 0 ? geometricMean(usable) : NaN;
    const [pb, pc] = [groupPrice(baseline), groupPrice(group)];
    return {
      group,
      ratio,
      rows: usable.length,
      ...(pb && pc && Number.isFinite(ratio) ? { perDollarRatio: ratio / (pc / pb) } : {}),
    };
  });

  const warnings: string[] = [];
  for (const [cell, same] of sameness)
    for (const [what, values] of same)
      if (values.size > 1)
        warnings.push(
          `${cell}: groups differ in ${what} (${[...values].join(', ')}), not only in ${opts.by}`,
        );
  for (const [group, fps] of hardware)
    if (fps.size > 1 && opts.by !== 'fingerprint')
      warnings.push(
        `group ${group} ran on ${fps.size} different hardware fingerprints (${[...fps].join(', ')}): compare --by fingerprint to see whether that matters`,
      );
  const minN = Math.min(...tested.map((g) => g.n), Infinity);
  if (tested.length > 0 && tested.every((g) => (g.p ?? 1) >= alpha))
    warnings.push(
      `no comparison reached p < ${alpha}${minN <= 3 ? `; with ${minN} repetitions per group Mann-Whitney cannot (its smallest p is 0.1): run 5 or more` : ''}`,
    );
  return {
    axis: opts.by,
    baseline,
    groups: ordered,
    rows,
    geomean,
    prices: ordered.map((group) => {
      const usd = groupPrice(group);
      return usd === undefined ? { group } : { group, hourlyPriceUsd: usd };
    }),
    warnings,
    alpha,
  };
}

interface Measured {
  value: number;
  priceUsd: number | undefined;
  durationMs: number;
}

/** What the group's repetitions cost, and (higher-is-better scores) how much score a dollar-hour buys. */
function costOf(
  measured: readonly Measured[],
  direction: Direction,
): Pick<GroupStats, 'hourlyPriceUsd' | 'costPerRepetitionUsd' | 'perDollar'> {
  const priced = measured.filter((m) => m.priceUsd !== undefined);
  if (priced.length === 0) return {};
  const hourly = median(priced.map((m) => m.priceUsd!));
  const cost = median(priced.map((m) => (m.priceUsd! * m.durationMs) / 3_600_000));
  const perDollar =
    direction === 'higher' && hourly > 0 ? median(priced.map((m) => m.value)) / hourly : undefined;
  return {
    hourlyPriceUsd: hourly,
    costPerRepetitionUsd: cost,
    ...(perDollar !== undefined ? { perDollar } : {}),
  };
}

/** Significant regressions beyond `maxPct` percent of the baseline, whatever each score's direction. */
export function regressions(
  c: Comparison,
  maxPct: number,
): { row: CompareRow; group: GroupStats; pct: number }[] {
  return c.rows.flatMap((row) =>
    row.groups
      .filter((g) => g.verdict === 'worse' && g.diffPct !== undefined)
      .map((g) => ({ row, group: g, pct: regressionPct(row.direction, g.diffPct!) }))
      .filter((x) => x.pct > maxPct),
  );
}

/** How much worse, in percent of the baseline, whatever the direction (≤ 0: not worse). */
export function regressionPct(direction: Direction, diffPct: number): number {
  return direction === 'higher' ? -diffPct : diffPct;
}

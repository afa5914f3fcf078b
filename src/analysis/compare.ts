/**
 * Compares groups of results along one axis (target, run, a param, GPU model, ...) against
 * a baseline group: per cell and score, the Hodges-Lehmann % difference with its
 * distribution-free interval and the verdict of the same inverted Mann-Whitney test
 * (verdict.ts); the family of each test is one contender against the baseline in one cell,
 * its primary score at alpha and the others Bonferroni-corrected among themselves; the
 * cost of a repetition and performance per dollar; and a geometric mean over the cells
 * every group completed, with a bootstrap interval (geomean.ts). Pure.
 */
import { median } from 'simple-statistics';
import type { Direction, MachineRecord, RepetitionResult } from '../core/index.js';
import type { CompareRow, Comparison, ComparisonMethod, Family, GroupStats } from './comparison.js';
import { summarize } from './describe.js';
import { geomeanWithCi, GEOMEAN_RESAMPLES } from './geomean.js';
import { compareEnergy } from './energy.js';
import { cellOf, groupOf, HARDWARE_AXES, machineKey, type Axis } from './groups.js';
import { countsInStatistics, suspectNote } from './suspect.js';
import { judge } from './verdict.js';

export type * from './comparison.js';
export { AXES, gpuModelOf, groupOf, parseAxis, type Axis } from './groups.js';

export interface CompareOptions {
  by: Axis;
  /** Baseline group; default: the first group seen. */
  baseline?: string;
  /** Significance level of each comparison's primary score (secondaries: Bonferroni). @default 0.05 */
  alpha?: number;
  /**
   * The primary score: one name for every benchmark, or per benchmark. Default (and where
   * the name is not among a cell's scores): the cell's first score, which is the
   * benchmark's first declared score, or its declared `primary`, which runs put first.
   */
  primary?: string | Readonly<Record<string, string>>;
  /** The runs' machines (their hardware): needed for `gpu-model`. */
  machines?: readonly MachineRecord[];
  /** Count repetitions marked suspect (unhealthy hardware) too. @default false */
  includeSuspect?: boolean;
}

export const METHOD: ComparisonMethod = {
  estimate:
    'Hodges-Lehmann: the median of the ratios contender/baseline over all pairs of repetitions (the shift of the logarithms), as a % difference',
  interval:
    'distribution-free, by inverting the two-sided Mann-Whitney test (Bauer 1972): exact null distribution when a group has at most 8 values, else the normal approximation with tie and continuity corrections (without ties, SciPy mannwhitneyu method=auto)',
  test: 'the same inverted test: a verdict is better or worse exactly when the interval excludes 0; values equal in both groups count against a difference',
  family:
    'per comparison (one group against the baseline in one cell): the primary score at alpha, each other score at alpha divided by their number (Bonferroni), its interval at the matching confidence',
  geomean: `geometric mean of direction-adjusted ratios of medians; 95 % percentile bootstrap interval, ${GEOMEAN_RESAMPLES} resamples, seeded, repetitions resampled within each cell and group`,
};

interface Measured {
  key: string;
  value: number;
  priceUsd: number | undefined;
  durationMs: number;
}

type Scores = Map<
  string,
  { meta: RepetitionResult['scores'][number]; benchmark: string; byGroup: Map<string, Measured[]> }
>;

export function compare(results: readonly RepetitionResult[], opts: CompareOptions): Comparison {
  const alpha = opts.alpha ?? 0.05;
  const machines = new Map((opts.machines ?? []).map((m) => [machineKey(m), m]));
  const groupFor = (r: RepetitionResult) => groupOf(r, opts.by, machines);
  // A fixed order (not the store's), so SQLite and Elasticsearch give the same report.
  const passed = results
    .filter((r) => countsInStatistics(r, opts.includeSuspect))
    .sort(
      (a, b) =>
        a.startedAt.localeCompare(b.startedAt) ||
        a.cellId.localeCompare(b.cellId) ||
        a.repetition - b.repetition,
    );
  // Groups in their natural order (threads 1, 2, 10; run ids by time), not in the order the
  // repetitions happened to start: interleaved runs start them in a random order.
  const groups = [...new Set(passed.map(groupFor))].sort((a, b) =>
    a.localeCompare(b, 'en', { numeric: true }),
  );
  const baseline = opts.baseline ?? groups[0] ?? '';
  if (opts.baseline !== undefined && !groups.includes(opts.baseline))
    throw new RangeError(
      `baseline '${opts.baseline}' is not among the groups (${groups.join(', ') || 'none'})`,
    );
  const ordered = [baseline, ...groups.filter((g) => g !== baseline)];

  // cell → score → group → the results' values (with what each repetition cost)
  const table = new Map<string, Scores>();
  // cell → what should be equal across groups → values seen; group → fingerprints seen
  const sameness = new Map<string, Map<string, Set<string>>>();
  const hardware = new Map<string, Set<string>>();
  const prices = new Map<string, number[]>();
  const keys = new Map<string, number>();
  for (const r of passed) {
    const cell = cellOf(r, opts.by);
    const group = groupFor(r);
    const scores: Scores = table.get(cell) ?? new Map();
    table.set(cell, scores);
    // One key per repetition, shared by its scores (the geomean's bootstrap draws them together).
    const id = `${r.runId}\u0000${r.cellId}\u0000${r.repetition}`;
    const seen = keys.get(id) ?? 0;
    keys.set(id, seen + 1);
    const key = `${id}\u0000${seen}`;
    for (const s of r.scores) {
      const entry = scores.get(s.name) ?? { meta: s, benchmark: r.benchmark, byGroup: new Map() };
      scores.set(s.name, entry);
      entry.byGroup.set(group, [
        ...(entry.byGroup.get(group) ?? []),
        { key, value: s.value, priceUsd: r.hourlyPriceUsd, durationMs: r.durationMs },
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
  const families: Family[] = [];
  const measured = new Map<CompareRow, Map<string, Measured[]>>();
  for (const [cell, scores] of table) {
    const names = [...scores.keys()];
    const benchmark = scores.get(names[0]!)!.benchmark;
    const wanted = typeof opts.primary === 'string' ? opts.primary : opts.primary?.[benchmark];
    const primary = wanted !== undefined && scores.has(wanted) ? wanted : names[0]!;
    const secondary = names.filter((n) => n !== primary);
    const alphaSecondary = secondary.length > 0 ? alpha / secondary.length : undefined;
    families.push({
      cell,
      benchmark,
      primary,
      secondary,
      alphaPrimary: alpha,
      ...(alphaSecondary !== undefined ? { alphaSecondary } : {}),
    });
    for (const score of [primary, ...secondary]) {
      const { meta, byGroup } = scores.get(score)!;
      const level = score === primary ? alpha : alphaSecondary!;
      const base = (byGroup.get(baseline) ?? []).map((m) => m.value);
      const row: CompareRow = {
        cell,
        benchmark,
        score,
        unit: meta.unit,
        direction: meta.direction,
        role: score === primary ? 'primary' : 'secondary',
        alpha: level,
        confidence: 1 - level,
        groups: ordered.map((group): GroupStats => {
          const values = (byGroup.get(group) ?? []).map((m) => m.value);
          const stats: GroupStats = {
            group,
            ...summarize(values),
            values,
            ...costOf(byGroup.get(group) ?? [], meta.direction),
          };
          if (group === baseline) return { ...stats, verdict: 'baseline' };
          if (values.length === 0 || base.length === 0) return stats;
          const j = judge(base, values, meta.direction, level);
          return { ...stats, ...j, pAdjusted: adjusted(j, score === primary ? 1 : secondary.length, alpha) };
        }),
      };
      rows.push(row);
      measured.set(row, byGroup);
    }
  }

  const groupPrice = (g: string) => {
    const ps = prices.get(g);
    return ps && ps.length > 0 ? median(ps) : undefined;
  };
  const complete = rows.filter((row) => row.groups.every((g) => g.n > 0));
  const keyed = (ms: readonly Measured[] = []) => new Map(ms.map((m) => [m.key, m.value]));
  const geomean = ordered.slice(1).map((group) => {
    const g = geomeanWithCi(
      complete.map((row) => ({
        cell: row.cell,
        direction: row.direction,
        baseline: keyed(measured.get(row)!.get(baseline)),
        contender: keyed(measured.get(row)!.get(group)),
      })),
    );
    const [pb, pc] = [groupPrice(baseline), groupPrice(group)];
    const priceRatio = pb && pc ? pc / pb : undefined;
    return {
      group,
      ratio: g.ratio,
      rows: g.rows,
      ...(g.ci ? { ci: g.ci } : {}),
      ...(priceRatio && Number.isFinite(g.ratio) ? { perDollarRatio: g.ratio / priceRatio } : {}),
      ...(priceRatio && g.ci
        ? { perDollarCi: { low: g.ci.low / priceRatio, high: g.ci.high / priceRatio } }
        : {}),
    };
  });

  const energy = compareEnergy(passed, {
    baseline,
    groups: ordered,
    rows,
    alpha,
    groupOf: groupFor,
    cellOf: (r) => cellOf(r, opts.by),
    adjust: (j, k) => adjusted(j, k, alpha),
  });
  return {
    axis: opts.by,
    baseline,
    groups: ordered,
    rows,
    geomean,
    ...(energy ? { energy } : {}),
    prices: ordered.map((group) => {
      const usd = groupPrice(group);
      return usd === undefined ? { group } : { group, hourlyPriceUsd: usd };
    }),
    warnings: [
      ...differences(sameness, hardware, opts.by),
      ...tooFew(rows),
      ...[suspectNote(results, opts.includeSuspect)].filter((w) => w !== undefined),
    ],
    alpha,
    families,
    method: METHOD,
  };
}

function differences(
  sameness: ReadonlyMap<string, ReadonlyMap<string, ReadonlySet<string>>>,
  hardware: ReadonlyMap<string, ReadonlySet<string>>,
  by: Axis,
): string[] {
  const warnings: string[] = [];
  for (const [cell, same] of sameness)
    for (const [what, values] of same)
      if (values.size > 1)
        warnings.push(`${cell}: groups differ in ${what} (${[...values].join(', ')}), not only in ${by}`);
  for (const [group, fps] of hardware)
    if (fps.size > 1 && by !== 'fingerprint')
      warnings.push(
        `group ${group} ran on ${fps.size} different hardware fingerprints (${[...fps].join(', ')}): compare --by fingerprint to see whether that matters`,
      );
  return warnings;
}

/**
 * `p` times the number of tests it shares its level with, so it reads against the
 * comparison's alpha. Rounding of p·k against alpha must not disagree with the verdict the
 * interval gave (p < alpha/k): where the last bit would, the verdict's side wins.
 */
function adjusted(j: ReturnType<typeof judge>, k: number, alpha: number): number {
  const p = Math.min(1, (j.p ?? NaN) * k);
  const significant = j.verdict === 'better' || j.verdict === 'worse';
  if (significant && !(p < alpha)) return alpha * (1 - Number.EPSILON);
  if (!significant && p < alpha) return alpha;
  return p;
}

/** One line for the comparisons no data of their size could decide. */
function tooFew(rows: readonly CompareRow[]): string[] {
  const short = rows.flatMap((row) =>
    row.groups.filter((g) => g.verdict === 'too few repetitions').map((g) => ({ row, g })),
  );
  if (short.length === 0) return [];
  const need = Math.max(...short.map((s) => s.g.needsRepetitions ?? 0));
  const primaries = short.filter((s) => s.row.role === 'primary').length;
  return [
    `${short.length} of ${rows.reduce((a, r) => a + r.groups.length - 1, 0)} comparisons (${primaries} of them primary scores) cannot reach a verdict with the repetitions at hand: the rank test needs ≥ ${need} repetitions per group at their level`,
  ];
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

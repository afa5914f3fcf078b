/**
 * Compares groups of results along one axis (target, run, a param, ...) against a
 * baseline group: per cell and score, the % difference of medians with a bootstrap CI, a
 * Mann-Whitney p-value Holm-corrected over all comparisons, and a verdict that respects
 * the score's direction; plus a geometric mean over the cells every group completed. Pure.
 */
import { geometricMean } from 'simple-statistics';
import type { Direction, RepetitionResult } from '../core/index.js';
import { bootstrapDiffPct, type Interval } from './bootstrap.js';
import { summarize, type SampleSummary } from './describe.js';
import { holm } from './holm.js';
import { mannWhitney } from './mann-whitney.js';

/** What to group by: a result field or `param:<name>`. */
export type Axis = 'target' | 'provider' | 'instance-type' | 'run' | 'image' | `param:${string}`;

export type Verdict = 'baseline' | 'better' | 'worse' | 'no significant difference';

export interface GroupStats extends SampleSummary {
  group: string;
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
  /** Per contender: geometric mean of direction-adjusted ratios over rows every group has (> 1 is better). */
  geomean: { group: string; ratio: number; rows: number }[];
  warnings: string[];
  alpha: number;
}

export interface CompareOptions {
  by: Axis;
  /** Baseline group; default: the first group seen. */
  baseline?: string;
  /** Significance level for the verdict (after Holm). @default 0.05 */
  alpha?: number;
}

export function groupOf(r: RepetitionResult, axis: Axis): string {
  if (axis.startsWith('param:')) return String(r.params[axis.slice(6)] ?? '(unset)');
  switch (axis) {
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

function cellOf(r: RepetitionResult, axis: Axis): string {
  const params = Object.entries(r.params)
    .filter(([k]) => axis !== `param:${k}`)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');
  return [r.benchmark, params, axis === 'target' ? '' : `@${r.target}`].filter(Boolean).join(' ');
}

export function compare(results: readonly RepetitionResult[], opts: CompareOptions): Comparison {
  const alpha = opts.alpha ?? 0.05;
  // A fixed order (not the store's), so SQLite and Elasticsearch give the same report.
  const passed = results
    .filter((r) => r.status === 'passed' && !r.warmup)
    .sort(
      (a, b) =>
        a.startedAt.localeCompare(b.startedAt) ||
        a.cellId.localeCompare(b.cellId) ||
        a.repetition - b.repetition,
    );
  const groups = [...new Set(passed.map((r) => groupOf(r, opts.by)))];
  const baseline = opts.baseline ?? groups[0] ?? '';
  if (opts.baseline !== undefined && !groups.includes(opts.baseline))
    throw new RangeError(
      `baseline '${opts.baseline}' is not among the groups (${groups.join(', ') || 'none'})`,
    );
  const ordered = [baseline, ...groups.filter((g) => g !== baseline)];

  // cell → score → group → values
  const table = new Map<
    string,
    Map<
      string,
      { meta: RepetitionResult['scores'][number]; benchmark: string; byGroup: Map<string, number[]> }
    >
  >();
  const fingerprints = new Map<string, Map<string, Set<string>>>();
  for (const r of passed) {
    const cell = cellOf(r, opts.by);
    const group = groupOf(r, opts.by);
    const scores = table.get(cell) ?? new Map();
    table.set(cell, scores);
    for (const s of r.scores) {
      const entry = scores.get(s.name) ?? {
        meta: s,
        benchmark: r.benchmark,
        byGroup: new Map<string, number[]>(),
      };
      scores.set(s.name, entry);
      entry.byGroup.set(group, [...(entry.byGroup.get(group) ?? []), s.value]);
    }
    const fp = fingerprints.get(cell) ?? new Map<string, Set<string>>();
    fingerprints.set(cell, fp);
    for (const [k, v] of [
      ['image digest', r.imageDigest],
      ['benchmark version', String(r.benchmarkVersion)],
    ] as const) {
      if (opts.by === 'image' && k === 'image digest') continue;
      fp.set(k, (fp.get(k) ?? new Set()).add(v));
    }
  }

  const rows: CompareRow[] = [];
  for (const [cell, scores] of table) {
    for (const [score, { meta, benchmark, byGroup }] of scores) {
      const base = byGroup.get(baseline) ?? [];
      rows.push({
        cell,
        benchmark,
        score,
        unit: meta.unit,
        direction: meta.direction,
        groups: ordered.map((group): GroupStats => {
          const values = byGroup.get(group) ?? [];
          const stats: GroupStats = { group, ...summarize(values) };
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

  const complete = rows.filter((row) => row.groups.every((g) => g.n > 0));
  const geomean = ordered.slice(1).map((group) => {
    const ratios = complete.map((row) => {
      const b = row.groups[0]!.median;
      const c = row.groups.find((g) => g.group === group)!.median;
      return row.direction === 'higher' ? c / b : b / c;
    });
    const usable = ratios.filter((x) => Number.isFinite(x) && x > 0);
    return { group, ratio: usable.length > 0 ? geometricMean(usable) : NaN, rows: usable.length };
  });

  const warnings: string[] = [];
  for (const [cell, fp] of fingerprints)
    for (const [what, values] of fp)
      if (values.size > 1)
        warnings.push(
          `${cell}: groups differ in ${what} (${[...values].join(', ')}), not only in ${opts.by}`,
        );
  const minN = Math.min(...tested.map((g) => g.n), Infinity);
  if (tested.length > 0 && tested.every((g) => (g.p ?? 1) >= alpha))
    warnings.push(
      `no comparison reached p < ${alpha}${minN <= 3 ? `; with ${minN} repetitions per group Mann-Whitney cannot (its smallest p is 0.1): run 5 or more` : ''}`,
    );
  return { axis: opts.by, baseline, groups: ordered, rows, geomean, warnings, alpha };
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

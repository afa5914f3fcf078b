/**
 * Change points in a series by E-divisive means: Matteson & James, "A Nonparametric Approach
 * for Multiple Change Point Analysis of Multivariate Data" (JASA 2014; R package `ecp`),
 * as MongoDB runs it over the history of its performance tests (Daly et al., "The Use of
 * Change Point Detection to Identify Software Performance Regressions in a Continuous
 * Integration System", ICPE 2020; mongodb/signal-processing-algorithms) and Apache Otava
 * does (formerly Hunter: Fleming et al., ICPE 2023).
 *
 * Divisive: the split (τ, κ) of a segment that maximizes the energy statistic
 * q̂(X = Z[s,τ), Y = Z[τ,κ)) = mn/(m+n) · (2/(mn) Σ|x−y| − C(n,2)⁻¹ Σ|x−x'| − C(m,2)⁻¹ Σ|y−y'|)
 * (α = 1: a shift of the mean or of the distribution) is the candidate; it is kept when a
 * permutation test says it is significant (the observations shuffled within each segment,
 * p = (1 + #{permuted max ≥ observed}) / (R + 1), as `ecp` computes it), and the search
 * goes on in the segments it makes. Searching κ too (not only the segment's end) is the
 * paper's: a change followed by another is still found. Seeded, so a history reads the same
 * every time. Pure; O(L²) per segment of length L (prefix sums of the distances), so a
 * permutation test over 100 runs is ~2·10⁶ steps.
 */
import { median } from 'simple-statistics';
import type { Direction, RepetitionResult, RunRecord } from '../core/index.js';
import { countsInStatistics } from './suspect.js';

export interface EDivisiveOptions {
  /** Fewest observations on either side of a change point (`ecp`'s `min.size`; at least 2). @default 2 */
  minSize?: number;
  /** Permutations per significance test (`ecp`'s `R`). @default 199 */
  permutations?: number;
  /** A candidate is a change point when its permutation p is at most this. @default 0.05 */
  sigLevel?: number;
  /** @default 0x5eed */
  seed?: number;
}

export interface Segment {
  /** First index (inclusive) and end (exclusive). */
  from: number;
  to: number;
  mean: number;
}

export interface ChangePoint {
  /** The first observation after the change. */
  index: number;
  qhat: number;
  /** The permutation test's p-value. */
  p: number;
  /** When the divisive search found it: 0 first (the strongest split). */
  rank: number;
  /** The segments either side, bounded by the neighbouring change points. */
  before: Segment;
  after: Segment;
  /** 100 · (after.mean / before.mean − 1); NaN where before.mean is 0. */
  changePct: number;
}

export const E_DIVISIVE_DEFAULTS = { minSize: 2, permutations: 199, sigLevel: 0.05, seed: 0x5eed } as const;

/** One line for reports: how the change points were found. */
export const CHANGE_POINT_METHOD = `E-divisive means (Matteson & James 2014), permutation test (${E_DIVISIVE_DEFAULTS.permutations} permutations, p ≤ ${E_DIVISIVE_DEFAULTS.sigLevel}), at least ${E_DIVISIVE_DEFAULTS.minSize} runs per segment, over each run's median`;

/** The change points of `series`, by index. */
export function eDivisive(series: readonly number[], opts: EDivisiveOptions = {}): ChangePoint[] {
  const { minSize, permutations, sigLevel, seed } = { ...E_DIVISIVE_DEFAULTS, ...opts };
  if (!Number.isInteger(minSize) || minSize < 2)
    throw new RangeError(`minSize must be an integer ≥ 2, got ${minSize}`);
  if (series.some((x) => !Number.isFinite(x)))
    throw new RangeError('the series holds a value that is not a finite number');
  const n = series.length;
  const d = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) d[i * n + j] = Math.abs(series[i]! - series[j]!);
  const rand = splitmix32(seed);
  const identity = Int32Array.from({ length: n }, (_, i) => i);
  const found: { index: number; qhat: number; p: number }[] = [];
  const memo = new Map<string, Split | undefined>();
  for (;;) {
    const bounds = [0, ...found.map((c) => c.index).sort((a, b) => a - b), n];
    const segments = bounds.slice(1).map((to, i) => [bounds[i]!, to] as const);
    let best: Split | undefined;
    for (const [s, e] of segments) {
      const key = `${s}:${e}`;
      if (!memo.has(key)) memo.set(key, bestSplit(d, n, identity, s, e, minSize));
      const split = memo.get(key);
      if (split && (!best || split.qhat > best.qhat)) best = split;
    }
    if (!best) break;
    let asLarge = 0;
    const order = Int32Array.from(identity);
    for (let r = 0; r < permutations; r++) {
      let max = -Infinity;
      for (const [s, e] of segments) {
        shuffle(order, s, e, rand);
        max = Math.max(max, bestSplit(d, n, order, s, e, minSize)?.qhat ?? -Infinity);
      }
      // Equal data summed in another order differs in the last bits: that is a tie.
      if (max >= best.qhat - 1e-9 * Math.max(1, Math.abs(best.qhat))) asLarge++;
    }
    const p = (1 + asLarge) / (permutations + 1);
    if (p > sigLevel) break;
    found.push({ index: best.tau, qhat: best.qhat, p });
  }
  const sorted = [...found].sort((a, b) => a.index - b.index);
  return sorted.map((c, i) => {
    const before = segment(series, sorted[i - 1]?.index ?? 0, c.index);
    const after = segment(series, c.index, sorted[i + 1]?.index ?? n);
    return {
      ...c,
      rank: found.indexOf(c),
      before,
      after,
      changePct: before.mean === 0 ? NaN : 100 * (after.mean / before.mean - 1),
    };
  });
}

interface Split {
  tau: number;
  kappa: number;
  qhat: number;
}

/**
 * The split of [s, e) (positions read through `order`) with the largest q̂ over every
 * τ and κ leaving at least `minSize` on each side; undefined where the segment is too short.
 * `col[j][t]` = Σ_{s≤i<t} d(i, j) makes each step O(1): between-sum, and both within-sums.
 */
export function bestSplit(
  d: Float64Array,
  n: number,
  order: Int32Array,
  s: number,
  e: number,
  minSize: number,
): Split | undefined {
  const len = e - s;
  if (len < 2 * minSize) return undefined;
  const w = len + 1;
  const col = new Float64Array(len * w);
  for (let j = 0; j < len; j++) {
    const row = order[s + j]! * n;
    let acc = 0;
    for (let t = 0; t < len; t++) {
      col[j * w + t] = acc;
      acc += d[row + order[s + t]!]!;
    }
    col[j * w + len] = acc;
  }
  let best: Split | undefined;
  let withinX = 0;
  for (let tau = 1; tau < len; tau++) {
    withinX += col[(tau - 1) * w + (tau - 1)]!;
    const nx = tau;
    if (nx < minSize || len - tau < minSize) continue;
    let between = 0;
    let withinY = 0;
    for (let kappa = tau + 1; kappa <= len; kappa++) {
      const j = kappa - 1;
      between += col[j * w + tau]!;
      withinY += col[j * w + j]! - col[j * w + tau]!;
      const m = kappa - tau;
      if (m < minSize) continue;
      const q =
        (2 * between) / (nx + m) -
        (2 * m * withinX) / ((nx + m) * (nx - 1)) -
        (2 * nx * withinY) / ((nx + m) * (m - 1));
      if (!best || q > best.qhat) best = { tau: s + tau, kappa: s + kappa, qhat: q };
    }
  }
  return best;
}

function segment(series: readonly number[], from: number, to: number): Segment {
  let sum = 0;
  for (let i = from; i < to; i++) sum += series[i]!;
  return { from, to, mean: sum / (to - from) };
}

/** Fisher–Yates over order[s, e). */
function shuffle(order: Int32Array, s: number, e: number, rand: () => number): void {
  for (let i = e - 1; i > s; i--) {
    const j = s + Math.floor(rand() * (i - s + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
}

/** A small seedable PRNG (SplitMix32), so a history's p-values are the same every time. */
function splitmix32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x9e3779b9) >>> 0;
    let z = a;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
  };
}

// ---- the history of a cell and score across runs ----

export interface HistoryPoint {
  runId: string;
  /** The run's start (ISO 8601). */
  at: string;
  /** The median of the run's passed, measured repetitions. */
  value: number;
  n: number;
}

export interface HistoryChange extends ChangePoint {
  /** The first run after the change. */
  runId: string;
  at: string;
  /** In the score's own direction. */
  verdict: 'better' | 'worse';
}

export interface HistorySeries {
  /** Benchmark, params and target, as `compare --by run` names a cell. */
  cell: string;
  benchmark: string;
  score: string;
  unit: string;
  direction: Direction;
  /** One per run that measured it, oldest first. */
  points: HistoryPoint[];
  changePoints: HistoryChange[];
}

/** `compare --by run`'s name of a result's cell: benchmark, params, `@target`. */
export function historyCell(r: Pick<RepetitionResult, 'benchmark' | 'params' | 'target'>): string {
  const params = Object.entries(r.params)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');
  return [r.benchmark, params, `@${r.target}`].filter(Boolean).join(' ');
}

/**
 * Per cell and score, the runs' medians in the order the runs started, and their change
 * points. A run is one observation: repetitions of one run share its machine's state, so
 * they are not exchangeable with another run's, and the permutation test shuffles runs.
 */
export function historyOf(
  runs: readonly Pick<RunRecord, 'id' | 'startedAt'>[],
  results: readonly RepetitionResult[],
  opts: EDivisiveOptions = {},
): HistorySeries[] {
  const ordered = [...runs].sort(
    (a, b) => a.startedAt.localeCompare(b.startedAt) || a.id.localeCompare(b.id),
  );
  const position = new Map(ordered.map((r, i) => [r.id, i]));
  // cell+score → run index → values
  const table = new Map<
    string,
    { meta: Omit<HistorySeries, 'points' | 'changePoints'>; byRun: Map<number, number[]> }
  >();
  for (const r of results) {
    const at = position.get(r.runId);
    // Suspect repetitions (unhealthy hardware) would show the machine's fault as a change.
    if (at === undefined || !countsInStatistics(r)) continue;
    const cell = historyCell(r);
    for (const s of r.scores) {
      const key = JSON.stringify([cell, s.name]);
      const entry = table.get(key) ?? {
        meta: { cell, benchmark: r.benchmark, score: s.name, unit: s.unit, direction: s.direction },
        byRun: new Map<number, number[]>(),
      };
      table.set(key, entry);
      entry.byRun.set(at, [...(entry.byRun.get(at) ?? []), s.value]);
    }
  }
  return [...table.values()].map(({ meta, byRun }) => {
    const points = [...byRun]
      .sort(([a], [b]) => a - b)
      .map(([i, values]): HistoryPoint => ({
        runId: ordered[i]!.id,
        at: ordered[i]!.startedAt,
        value: median(values),
        n: values.length,
      }));
    const changePoints = eDivisive(
      points.map((p) => p.value),
      opts,
    ).map((c): HistoryChange => {
      const better =
        meta.direction === 'higher' ? c.after.mean > c.before.mean : c.after.mean < c.before.mean;
      return {
        ...c,
        runId: points[c.index]!.runId,
        at: points[c.index]!.at,
        verdict: better ? 'better' : 'worse',
      };
    });
    return { ...meta, points, changePoints };
  });
}

/** What `compare()` returns: the shapes the table, JSON, Markdown, HTML, JUnit and gate read. */
import type { Direction } from '../core/index.js';
import type { Interval } from './bootstrap.js';
import type { EnergyComparison } from './energy.js';
import type { Axis } from './groups.js';
import type { SampleSummary } from './describe.js';
import type { TestMethod } from './mann-whitney.js';

/**
 * `too few repetitions`: the groups are too small for the test to reject at the score's
 * level whatever the values (see `needsRepetitions`), so "no significant difference"
 * would be a claim the data cannot support either way.
 */
export type Verdict = 'baseline' | 'better' | 'worse' | 'no significant difference' | 'too few repetitions';

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
  /**
   * % difference from the baseline, Hodges-Lehmann: 100·(r − 1) with r the median of the
   * ratios contender_i / baseline_j (the shift of the logs). It used to be the ratio of
   * medians, which is `medianDiffPct` now.
   */
  diffPct?: number;
  /** 100·(median / baseline median − 1). */
  medianDiffPct?: number;
  /**
   * Distribution-free interval of `diffPct` at the row's `confidence` (inverted Mann-Whitney);
   * absent when the groups are too small for any interval at that level.
   */
  ci?: Interval;
  /** Two-sided p of "no difference", dual to `ci`: p < the row's alpha ⇔ `ci` excludes 0. */
  p?: number;
  /** `p` Bonferroni-adjusted within the comparison's family (`p · family size`, ≤ 1): compare with `Comparison.alpha`. */
  pAdjusted?: number;
  /** Exact null distribution (a group of at most 8 values) or normal approximation. */
  method?: TestMethod;
  /** With verdict `too few repetitions`: repetitions per group with which a verdict becomes possible. */
  needsRepetitions?: number;
  verdict?: Verdict;
}

/** A score's place in its comparison's family. */
export type ScoreRole = 'primary' | 'secondary';

export interface CompareRow {
  /** What is compared, without the axis: benchmark and params (and target unless grouping by it). */
  cell: string;
  benchmark: string;
  score: string;
  unit: string;
  direction: Direction;
  /** `primary`: tested alone at the comparison's alpha; `secondary`: at alpha ÷ the secondaries. */
  role: ScoreRole;
  /** The level this score is tested at (per-comparison, after Bonferroni for secondaries). */
  alpha: number;
  /** Confidence of its intervals: 1 − alpha. */
  confidence: number;
  groups: GroupStats[];
}

/**
 * A family of tests: one contender against the baseline in one cell, over the cell's scores.
 * The primary score is tested at `alpha`; each of the `secondary` ones at
 * `alpha / secondary.length` (Bonferroni), their intervals at the matching confidence.
 */
export interface Family {
  cell: string;
  benchmark: string;
  primary: string;
  secondary: string[];
  alphaPrimary: number;
  alphaSecondary?: number;
}

export interface GeomeanEntry {
  group: string;
  /** Geometric mean of direction-adjusted ratios of medians over rows every group has (> 1 is better). */
  ratio: number;
  rows: number;
  /** Seeded percentile bootstrap interval of `ratio` (repetitions resampled within each cell and group). */
  ci?: Interval;
  /** `ratio` ÷ the ratio of hourly prices (contender ÷ baseline), where both groups recorded one. */
  perDollarRatio?: number;
  /** The same interval divided by the same (fixed) price ratio. */
  perDollarCi?: Interval;
}

export interface Comparison {
  axis: Axis;
  baseline: string;
  groups: string[];
  rows: CompareRow[];
  geomean: GeomeanEntry[];
  /** Joules per repetition and score per joule, where some repetition recorded energy or why not. */
  energy?: EnergyComparison;
  /** Median hourly price (USD) per group, where its results recorded one. */
  prices: { group: string; hourlyPriceUsd?: number }[];
  warnings: string[];
  /** Per-comparison significance level: the primary score's; secondaries share it (Bonferroni). */
  alpha: number;
  /** The families the verdicts were corrected over, one per cell. */
  families: Family[];
  /** How the verdicts, intervals and geomean intervals were computed, in words. */
  method: ComparisonMethod;
}

export interface ComparisonMethod {
  estimate: string;
  interval: string;
  test: string;
  family: string;
  geomean: string;
}

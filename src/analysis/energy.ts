/**
 * Energy beside the scores: per cell and group, the joules one repetition drew and each
 * score per joule, compared with the baseline by the same rank procedure as the scores
 * (verdict.ts: Hodges-Lehmann Δ, its inverted Mann-Whitney interval, the verdict), so
 * every energy figure has an interval like every other column. Only measured energy is
 * used: a repetition without `metrics.energy` adds nothing, and its group says why.
 *
 * Score per joule follows "median per USD/h": the score divided by the rate at which the
 * machine spends (there the hourly price, here the mean power, joules ÷ the repetition's
 * seconds), computed per repetition, so a per-second score becomes work per joule
 * (events/s ÷ W = events/J), as MLPerf Power reports throughput scenarios (samples/J =
 * samples/s ÷ mean W) — Tschand et al., "MLPerf Power", arXiv 2410.12032. Dividing by the
 * repetition's joules instead would depend on how long a repetition runs. A lower-is-better
 * score in a time unit becomes joules per result (its time × mean power, MLPerf's energy
 * per query for latency scenarios); other lower-is-better scores get none, as they get no
 * per-dollar figure. Pure.
 */
import type { Direction, RepetitionResult } from '../core/index.js';
import type { CompareRow, GroupStats } from './comparison.js';
import { summarize } from './describe.js';
import { overlapWarnings, sourceWarnings } from './energy-warnings.js';
import { judge } from './verdict.js';

/** What an energy row shows: the joules, or one score per joule / per watt / as joules per result. */
export type EnergyFigure = 'joules' | 'per-joule' | 'per-watt' | 'per-result';

/** A row of figures compared like a score; never part of the verdict families or the gate. */
export interface EnergyRow extends CompareRow {
  energy: EnergyFigure;
  /** The score it was computed from (absent for `joules`). */
  of?: string;
}

export interface EnergyMissing {
  group: string;
  /** Measured repetitions with energy, of all the group's measured repetitions. */
  measured: number;
  of: number;
  /** What the measurement said (`metrics.energyMissing`), each reason once. */
  reasons: string[];
}

export interface EnergyComparison {
  /** Per cell, in the comparison's order: joules per repetition, then each score's figure. */
  rows: EnergyRow[];
  /** Groups where some measured repetition has no energy. */
  missing: EnergyMissing[];
  warnings: string[];
  method: string;
}

export const ENERGY_METHOD =
  'measured energy only (metrics.energy, machine-wide): joules per repetition; per repetition, a higher-is-better score ÷ mean power (joules ÷ seconds: per joule for a per-second score, else per watt) and a lower-is-better time score × mean power (joules per result); each compared with the baseline as the scores are (Hodges-Lehmann Δ, inverted Mann-Whitney interval), joules at the comparison alpha and a score figure at its score level; not part of the verdict families or the gate';

export interface EnergyContext {
  baseline: string;
  /** Every group, the baseline first. */
  groups: readonly string[];
  /** The score rows, whose cells, order and levels the energy rows follow. */
  rows: readonly CompareRow[];
  alpha: number;
  groupOf: (r: RepetitionResult) => string;
  cellOf: (r: RepetitionResult) => string;
  /** p → p adjusted for a family of k tests, agreeing with the verdict (compare.ts). */
  adjust: (j: ReturnType<typeof judge>, k: number) => number;
}

/**
 * The energy rows of a comparison over its measured, passed repetitions; undefined when no
 * repetition recorded energy or a reason for its absence.
 */
export function compareEnergy(
  passed: readonly RepetitionResult[],
  ctx: EnergyContext,
): EnergyComparison | undefined {
  if (!passed.some((r) => r.metrics.energy !== undefined || r.metrics.energyMissing !== undefined))
    return undefined;
  const withEnergy = passed.filter((r) => usableJoules(r) !== undefined);
  const rows: EnergyRow[] = [];
  if (withEnergy.length > 0) {
    const byCell = new Map<string, RepetitionResult[]>();
    for (const r of withEnergy) {
      const cell = ctx.cellOf(r);
      const list = byCell.get(cell);
      if (list) list.push(r);
      else byCell.set(cell, [r]);
    }
    // The score rows' cell order; a cell without scores still has its joules.
    const cells = [...new Set([...ctx.rows.map((r) => r.cell), ...byCell.keys()])];
    for (const cell of cells) {
      const rs = byCell.get(cell);
      if (!rs) continue;
      const scoreRows = ctx.rows.filter((r) => r.cell === cell);
      const secondaries = scoreRows.filter((r) => r.role === 'secondary').length;
      const joules: Omit<EnergyRow, 'groups'> = {
        cell,
        benchmark: rs[0]!.benchmark,
        score: 'joules per repetition',
        unit: 'J',
        direction: 'lower',
        role: 'primary',
        alpha: ctx.alpha,
        confidence: 1 - ctx.alpha,
        energy: 'joules',
      };
      rows.push(energyRow(ctx, rs, joules, (r) => usableJoules(r)));
      for (const row of scoreRows) {
        const figure = figureOf(row.score, row.unit, row.direction);
        if (!figure) continue;
        const { perRepetition, ...shown } = figure;
        const { groups: _scoreGroups, ...scoreMeta } = row;
        const meta: Omit<EnergyRow, 'groups'> = { ...scoreMeta, ...shown, of: row.score };
        const valueOf = (r: RepetitionResult) => {
          const score = r.scores.find((s) => s.name === row.score)?.value;
          const [j, seconds] = [usableJoules(r)!, r.durationMs / 1000];
          if (score === undefined || !(j > 0) || !(seconds > 0)) return undefined;
          const x = perRepetition(score, j / seconds);
          return Number.isFinite(x) ? x : undefined;
        };
        rows.push(energyRow(ctx, rs, meta, valueOf, row.role === 'primary' ? 1 : secondaries));
      }
    }
  }
  return {
    rows,
    missing: missingOf(passed, ctx),
    warnings: [...sourceWarnings(withEnergy, ctx), ...overlapWarnings(withEnergy)],
    method: ENERGY_METHOD,
  };
}

/**
 * How a score becomes an energy figure, from its unit and direction: the row's name, unit
 * and the per-repetition value from the score and the mean power (W); undefined when none.
 */
export function figureOf(
  score: string,
  unit: string,
  direction: Direction,
):
  | (Pick<EnergyRow, 'score' | 'unit' | 'direction' | 'energy'> & {
      /** The figure of one repetition from its score and mean power (W). */
      perRepetition: (value: number, watts: number) => number;
    })
  | undefined {
  if (direction === 'higher') {
    const perSecond = /^(.*?)\s*\/\s*(s|sec|second)$/i.exec(unit.trim());
    if (perSecond)
      return {
        score: `${score} per joule`,
        unit: `${perSecond[1] || '1'}/J`,
        direction: 'higher',
        energy: 'per-joule',
        perRepetition: (v, w) => v / w,
      };
    return {
      score: `${score} per watt`,
      unit: unit ? `${unit}/W` : '1/W',
      direction: 'higher',
      energy: 'per-watt',
      perRepetition: (v, w) => v / w,
    };
  }
  const time = TIME_UNITS.get(unit.trim());
  if (!time) return undefined;
  return {
    score: `${score} energy per result`,
    unit: time.joules,
    direction: 'lower',
    energy: 'per-result',
    perRepetition: (v, w) => v * time.factor * w,
  };
}

/** A time unit → the energy unit its value × watts is shown in, and the factor to it. */
const TIME_UNITS = new Map<string, { joules: string; factor: number }>([
  ['s', { joules: 'J', factor: 1 }],
  ['sec', { joules: 'J', factor: 1 }],
  ['seconds', { joules: 'J', factor: 1 }],
  ['ms', { joules: 'mJ', factor: 1 }],
  ['us', { joules: 'µJ', factor: 1 }],
  ['µs', { joules: 'µJ', factor: 1 }],
  ['ns', { joules: 'nJ', factor: 1 }],
  ['min', { joules: 'J', factor: 60 }],
]);

function energyRow(
  ctx: EnergyContext,
  rs: readonly RepetitionResult[],
  meta: Omit<EnergyRow, 'groups'>,
  valueOf: (r: RepetitionResult) => number | undefined,
  familySize = 1,
): EnergyRow {
  const byGroup = new Map<string, number[]>();
  for (const r of rs) {
    const v = valueOf(r);
    if (v === undefined) continue;
    const g = ctx.groupOf(r);
    const list = byGroup.get(g);
    if (list) list.push(v);
    else byGroup.set(g, [v]);
  }
  const base = byGroup.get(ctx.baseline) ?? [];
  return {
    ...meta,
    groups: ctx.groups.map((group): GroupStats => {
      const values = byGroup.get(group) ?? [];
      const stats: GroupStats = { group, ...summarize(values), values };
      if (group === ctx.baseline) return values.length > 0 ? { ...stats, verdict: 'baseline' } : stats;
      if (values.length === 0 || base.length === 0) return stats;
      const j = judge(base, values, meta.direction, meta.alpha);
      return { ...stats, ...j, pAdjusted: ctx.adjust(j, familySize) };
    }),
  };
}

/** The repetition's joules when measured and usable (finite, not negative). */
export function usableJoules(r: RepetitionResult): number | undefined {
  const j = r.metrics.energy?.joules;
  return j !== undefined && Number.isFinite(j) && j >= 0 ? j : undefined;
}

function missingOf(passed: readonly RepetitionResult[], ctx: EnergyContext): EnergyMissing[] {
  return ctx.groups.flatMap((group) => {
    const rs = passed.filter((r) => ctx.groupOf(r) === group);
    const lacking = rs.filter((r) => usableJoules(r) === undefined);
    if (lacking.length === 0) return [];
    const reasons = [...new Set(lacking.map((r) => r.metrics.energyMissing ?? 'no energy recorded'))];
    return [{ group, measured: rs.length - lacking.length, of: rs.length, reasons }];
  });
}

/**
 * The energy pictures of a report or a run's page: the comparison's energy rows as summary
 * charts (a bar per group from zero, the comparison's interval as whiskers), the rows for
 * a table, and the lines saying what they are and which groups have none. Pure; the
 * statistics are `compare()`'s (src/analysis/energy.ts).
 */
import { median } from 'simple-statistics';
import type { Axis, Comparison } from '../../analysis/compare.js';
import { usableJoules, type EnergyRow } from '../../analysis/energy.js';
import { countsInStatistics } from '../../analysis/suspect.js';
import type { RepetitionResult } from '../../core/index.js';
import { compareHead, energyLines } from '../compare-cells.js';
import type { SummaryChartData } from './chart-data.js';
import { buildSummaryCharts } from './summary-chart.js';

export interface EnergyPictures {
  axis: Axis;
  baseline: string;
  /** Joules per repetition and each score's figure, per benchmark. */
  charts: SummaryChartData[];
  /** The table's columns (the compare table's, without cost) and its rows. */
  head: string[];
  rows: EnergyRow[];
  /** What the figures are, groups without energy and why, energy's warnings. */
  notes: string[];
}

/** Undefined when no repetition recorded energy, nor why it has none. */
export function buildEnergyPictures(c: Comparison): EnergyPictures | undefined {
  if (!c.energy) return undefined;
  return {
    axis: c.axis,
    baseline: c.baseline,
    charts: buildSummaryCharts({ ...c, rows: c.energy.rows }),
    head: compareHead({ ...c, prices: [] }),
    rows: c.energy.rows,
    notes: energyLines(c),
  };
}

/** A cell's measured joules per repetition, for the results table. */
export interface CellEnergy {
  /** Median over the measured repetitions that recorded energy. */
  joules: number;
  n: number;
  /** The cell's passed measured repetitions. */
  of: number;
}

/** Over the repetitions the statistics count (suspect ones only with `includeSuspect`). */
export function cellEnergy(
  results: readonly RepetitionResult[],
  includeSuspect = false,
): CellEnergy | undefined {
  const measured = results.filter((r) => countsInStatistics(r, includeSuspect));
  const joules = measured.map(usableJoules).filter((j): j is number => j !== undefined);
  return joules.length > 0 ? { joules: median(joules), n: joules.length, of: measured.length } : undefined;
}

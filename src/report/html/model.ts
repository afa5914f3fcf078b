/**
 * Everything the HTML report shows, as JSON: the summary charts and the groups' hardware
 * first, then runs, per-cell results, the comparison and its cost figures, box plots,
 * metric time series. Pure: the CLI reads the store, this shapes, src/web draws. `serve`
 * answers a run's pictures (`buildPictures`) to the same drawing code.
 */
import { compare, type Axis, type Comparison } from '../../analysis/compare.js';
import { suspectNote } from '../../analysis/suspect.js';
import type {
  Direction,
  MachineRecord,
  MetricSample,
  RepetitionResult,
  RunRecord,
} from '../../core/index.js';
import { provisionTimeline, type ProvisionTimeline } from '../provision.js';
import { summarize as summarizeCells, type CellSummary } from '../summary.js';
import { buildBoxPlots } from './box-plots.js';
import type { BoxPlotData, HardwareTable, SummaryChartData } from './chart-data.js';
import { buildEnergyPictures, cellEnergy, type CellEnergy, type EnergyPictures } from './energy.js';
import { buildHardwareTable } from './hardware-table.js';
import { buildSeries, type SeriesCell, type SeriesOptions } from './series.js';
import { buildSummaryCharts, WHISKERS_NOTE } from './summary-chart.js';

export interface ReportInput {
  runs: readonly RunRecord[];
  results: readonly RepetitionResult[];
  samples: readonly MetricSample[];
  machines?: readonly MachineRecord[];
  comparison?: Comparison;
  /** ISO 8601. */
  generatedAt: string;
  /** Said at the top of the report, e.g. why a section is empty. */
  notes?: readonly string[];
  series?: SeriesOptions;
  /** Count repetitions marked suspect (unhealthy hardware) in the statistics too. */
  includeSuspect?: boolean;
}

/** The charts of a report or of a run's page: summary and hardware first, then the details. */
export interface Pictures {
  summary: { axis: Axis; baseline: string; charts: SummaryChartData[]; whiskers: string };
  hardware: HardwareTable;
  boxPlots: { axis: Axis; charts: BoxPlotData[] };
  series: SeriesCell[];
  /** Joules per repetition and score per joule by the same axis, where energy (or why none) was recorded. */
  energy?: EnergyPictures;
}

export interface ReportModel extends Pictures {
  generatedAt: string;
  runs: RunRecord[];
  machines: Omit<MachineRecord, 'hardware'>[];
  /** Per run and cell: pass counts, score medians, failures. */
  cells: (CellSummary & { runId: string; hourlyPriceUsd?: number; energy?: CellEnergy })[];
  comparison?: Comparison;
  cost?: CostModel;
  /** How long each machine took to become usable, where some machine recorded it. */
  provision?: ProvisionTimeline;
  notes: string[];
}

/** The comparison's cost figures; `priced` is false when no group had a price. */
export interface CostModel {
  priced: boolean;
  rows: {
    cell: string;
    score: string;
    unit: string;
    direction: Direction;
    group: string;
    hourlyPriceUsd?: number;
    costPerRepetitionUsd?: number;
    perDollar?: number;
  }[];
  geomean: { group: string; perDollarRatio?: number }[];
  /** Median hourly price per group, where its results recorded one. */
  prices: { group: string; hourlyPriceUsd?: number }[];
}

/**
 * The charts along the comparison's axis; without a comparison, by target (a run's page,
 * a report without --by).
 */
export function buildPictures(
  input: Pick<ReportInput, 'results' | 'samples' | 'machines' | 'comparison' | 'series' | 'includeSuspect'>,
): Pictures {
  const c =
    input.comparison ??
    compare(input.results, {
      by: 'target',
      machines: input.machines ?? [],
      ...(input.includeSuspect ? { includeSuspect: true } : {}),
    });
  return {
    summary: {
      axis: c.axis,
      baseline: c.baseline,
      charts: buildSummaryCharts(c),
      whiskers: WHISKERS_NOTE,
    },
    hardware: buildHardwareTable({
      axis: c.axis,
      groups: c.groups,
      results: input.results,
      machines: input.machines ?? [],
      prices: c.prices,
    }),
    boxPlots: { axis: c.axis, charts: buildBoxPlots(c) },
    series: buildSeries(input.samples, input.results, input.series),
    ...energyOf(c),
  };
}

function energyOf(c: Comparison): { energy?: EnergyPictures } {
  const energy = buildEnergyPictures(c);
  return energy ? { energy } : {};
}

export function buildReportModel(input: ReportInput): ReportModel {
  const { comparison } = input;
  return {
    ...buildPictures(input),
    generatedAt: input.generatedAt,
    runs: [...input.runs],
    machines: (input.machines ?? []).map(({ hardware: _hardware, ...m }) => m),
    cells: input.runs.flatMap((run) => {
      const results = input.results.filter((r) => r.runId === run.id);
      const includeSuspect = input.includeSuspect ?? false;
      return summarizeCells(results, undefined, { includeSuspect }).map((c) => {
        const price = results.find((r) => r.cellId === c.cellId && r.hourlyPriceUsd !== undefined);
        const energy = cellEnergy(
          results.filter((r) => r.cellId === c.cellId),
          includeSuspect,
        );
        return {
          runId: run.id,
          ...c,
          ...(price ? { hourlyPriceUsd: price.hourlyPriceUsd } : {}),
          ...(energy ? { energy } : {}),
        };
      });
    }),
    ...(comparison ? { comparison, cost: costOf(comparison) } : {}),
    ...provisionOf(input.machines),
    notes: [
      ...(input.notes ?? []),
      ...[suspectNote(input.results, input.includeSuspect)].filter((n) => n !== undefined),
    ],
  };
}

function provisionOf(machines: readonly MachineRecord[] = []): { provision?: ProvisionTimeline } {
  const provision = provisionTimeline(machines);
  return provision ? { provision } : {};
}

function costOf(c: Comparison): CostModel {
  const rows = c.rows.flatMap((row) =>
    row.groups.map((g) => ({
      cell: row.cell,
      score: row.score,
      unit: row.unit,
      direction: row.direction,
      group: g.group,
      ...defined({
        hourlyPriceUsd: g.hourlyPriceUsd,
        costPerRepetitionUsd: g.costPerRepetitionUsd,
        perDollar: g.perDollar,
      }),
    })),
  );
  const geomean = c.geomean.map((g) => ({
    group: g.group,
    ...defined({ perDollarRatio: g.perDollarRatio }),
  }));
  const priced =
    c.prices.some((p) => p.hourlyPriceUsd !== undefined) ||
    rows.some((r) => r.hourlyPriceUsd !== undefined || r.costPerRepetitionUsd !== undefined);
  return { priced, rows: priced ? rows : [], geomean, prices: c.prices.map((p) => ({ ...p })) };
}

/** Drops undefined and non-finite numbers, so the JSON holds only what was recorded. */
function defined<T extends Record<string, number | undefined>>(o: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(o).filter(([, v]) => v !== undefined && Number.isFinite(v)),
  ) as Partial<T>;
}

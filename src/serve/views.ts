/**
 * What the API answers about runs, made from stored records: a run with its live progress,
 * its cells with their state and median score, a result as the live stream sends it.
 * Pure: the readers are called in api.ts.
 */
import type { MachineRecord, RepetitionResult, RunRecord, RunStatus } from '../core/index.js';
import { summarize } from '../report/index.js';
import type { StoredCell } from './ports.js';

/** A run as the API lists it: its record's counts (`repetitions`: every planned container run), and progress. */
export interface RunSummary extends Pick<
  RunRecord,
  'id' | 'name' | 'status' | 'startedAt' | 'finishedAt' | 'cells' | 'repetitions' | 'passed' | 'failed'
> {
  /** Results stored so far (warmups included). */
  results: number;
  /** results ÷ repetitions, at most 1. */
  progress: number;
  /** The run's tags (`run --tag`): the trend view's groups. */
  tags?: string[];
}

/**
 * The run as the API shows it. A running run's record counts nothing yet (it is written at
 * start and end), so its counts come from the results stored so far.
 */
export function summarizeRun(run: RunRecord, results?: readonly RepetitionResult[]): RunSummary {
  const passed = results ? results.filter((r) => r.status === 'passed').length : run.passed;
  const failed = results ? results.length - passed : run.failed;
  const stored = passed + failed;
  return {
    id: run.id,
    name: run.name,
    status: run.status,
    startedAt: run.startedAt,
    ...(run.finishedAt ? { finishedAt: run.finishedAt } : {}),
    cells: run.cells,
    repetitions: run.repetitions,
    passed,
    failed,
    results: stored,
    progress: run.repetitions > 0 ? Math.min(1, stored / run.repetitions) : run.status === 'running' ? 0 : 1,
    ...(run.tags?.length ? { tags: [...run.tags] } : {}),
  };
}

export type CellStatus = 'pending' | 'running' | 'passed' | 'failed' | 'incomplete';

export interface CellView {
  id: string;
  index: number;
  benchmark: string;
  target: string;
  provider: string;
  params: Record<string, unknown>;
  status: CellStatus;
  /** Measured repetitions planned; absent where the store keeps no cells. */
  planned?: number;
  /** Measured repetitions done (warmups and control runs not counted). */
  done: number;
  /** Failed repetitions, warmups included. */
  failed: number;
  /** The median of the cell's first score over its passed measured repetitions. */
  score?: { name: string; unit: string; direction: string; median: number; n: number };
}

/**
 * The run's cells: the stored ones in plan order (or, without them, those with results),
 * each with its state. `active`: cells measured a moment ago (running now).
 */
export function cellViews(
  stored: readonly StoredCell[] | undefined,
  results: readonly RepetitionResult[],
  runStatus: RunStatus,
  active: ReadonlySet<string> = new Set(),
): CellView[] {
  const byCell = new Map<string, RepetitionResult[]>();
  for (const r of results) byCell.set(r.cellId, [...(byCell.get(r.cellId) ?? []), r]);
  const cells: StoredCell[] = stored
    ? [...stored]
    : [...byCell.values()].map((rs, index) => ({
        id: rs[0]!.cellId,
        index,
        benchmark: rs[0]!.benchmark,
        target: rs[0]!.target,
        provider: rs[0]!.provider,
        params: rs[0]!.params,
        repetitions: Number.NaN,
      }));
  return cells.map((c) => cellView(c, byCell.get(c.id) ?? [], runStatus, active.has(c.id), !stored));
}

function cellView(
  c: StoredCell,
  results: readonly RepetitionResult[],
  runStatus: RunStatus,
  active: boolean,
  plannedUnknown: boolean,
): CellView {
  const measured = results.filter((r) => !r.warmup && !r.control);
  const failed = results.filter((r) => r.status === 'failed').length;
  const complete = plannedUnknown ? runStatus !== 'running' : measured.length >= c.repetitions;
  const status: CellStatus = complete
    ? results.length === 0
      ? 'incomplete'
      : failed > 0
        ? 'failed'
        : 'passed'
    : runStatus !== 'running'
      ? 'incomplete'
      : active || results.length > 0
        ? 'running'
        : 'pending';
  const score = firstScore(measured);
  return {
    id: c.id,
    index: c.index,
    benchmark: c.benchmark,
    target: c.target,
    provider: c.provider,
    params: { ...c.params },
    status,
    ...(plannedUnknown ? {} : { planned: c.repetitions }),
    done: measured.length,
    failed,
    ...(score ? { score } : {}),
  };
}

/** The cell's first score as the run summary has it: the median over passed measured repetitions. */
function firstScore(measured: readonly RepetitionResult[]): CellView['score'] {
  const first = summarize(measured)[0]?.scores[0];
  if (!first) return undefined;
  const { name, unit, direction, median, n } = first;
  return { name, unit, direction, median, n };
}

/** A result as the live stream sends it: what a view shows, without paths on the controller. */
export function resultView(r: RepetitionResult) {
  return {
    runId: r.runId,
    cellId: r.cellId,
    repetition: r.repetition,
    status: r.status,
    warmup: r.warmup,
    ...(r.control ? { control: true } : {}),
    target: r.target,
    machineId: r.machineId,
    scores: r.scores,
    ...(r.failureClass ? { failureClass: r.failureClass } : {}),
    ...(r.failureReason ? { failureReason: r.failureReason } : {}),
    ...(r.exitCode !== undefined ? { exitCode: r.exitCode } : {}),
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    durationMs: r.durationMs,
  };
}

/** A machine of the run without its full hardware document: the CPU and GPU models. */
export function machineView(m: MachineRecord) {
  const hw = m.hardware as { cpu?: { model?: string }; gpus?: { model?: string }[] } | null;
  const { hardware: _hardware, ...rest } = m;
  return {
    ...rest,
    ...(hw?.cpu?.model ? { cpu: hw.cpu.model } : {}),
    gpus: (hw?.gpus ?? []).map((g) => g.model ?? '(unnamed)'),
  };
}

/** The key a result is stored under: one per cell and repetition. */
export const resultKey = (r: Pick<RepetitionResult, 'cellId' | 'repetition'>) =>
  `${r.cellId}#${r.repetition}`;

/** The run views the API answers, read from a ServeReader. */
import { errorMessage, type Clock, type MetricSample, type RepetitionResult } from '../core/index.js';
import { buildPictures, type Pictures } from '../report/html/model.js';
import type { ServeReader, StoredCell } from './ports.js';
import { toChunks, type SeriesChunk } from './samples.js';
import { cellViews, machineView, summarizeRun, type CellView, type RunSummary } from './views.js';

/** A cell measured this recently (ms) is running now. */
const ACTIVE_MS = 10_000;
/** How far back a live stream's snapshot reaches for samples (ms). */
export const SNAPSHOT_SAMPLES_MS = 120_000;
/** Points per series in a snapshot. */
const SNAPSHOT_POINTS = 300;
/** Runs whose cells are kept in memory. */
const MAX_CACHED_RUNS = 64;
/** Finished runs whose charts are kept in memory (they no longer change). */
const MAX_CACHED_CHARTS = 8;

export interface RunDetail {
  run: RunSummary;
  cells: CellView[];
  machines: ReturnType<typeof machineView>[];
}

export interface RunSnapshot extends RunDetail {
  /** The running cells' recent samples. */
  samples: SeriesChunk[];
}

/** A run's pictures, as the report draws them (by target), and what could not be read. */
export interface RunCharts extends Pictures {
  runId: string;
  notes: string[];
}

export class RunsApi {
  private readonly cellCache = new Map<string, StoredCell[]>();
  private readonly chartCache = new Map<string, RunCharts>();

  constructor(
    private readonly reader: ServeReader,
    private readonly clock: Clock,
  ) {}

  /** Runs newest first; a running run's counts come from its results so far. */
  async list(limit = 50): Promise<RunSummary[]> {
    const runs = await this.reader.listRuns(limit);
    return Promise.all(
      runs.map(async (run) =>
        summarizeRun(
          run,
          run.status === 'running' ? await this.reader.listResults({ runId: run.id }) : undefined,
        ),
      ),
    );
  }

  async detail(id: string, results?: readonly RepetitionResult[]): Promise<RunDetail | undefined> {
    const run = await this.reader.getRun(id);
    if (!run) return undefined;
    const rs = results ?? (await this.reader.listResults({ runId: id }));
    const running = run.status === 'running';
    const active = running ? activeCells(await this.recentSamples(id, ACTIVE_MS)) : new Set<string>();
    return {
      run: summarizeRun(run, running ? rs : undefined),
      cells: cellViews(await this.cells(id), rs, run.status, active),
      machines: ((await this.reader.listMachines?.({ runId: id })) ?? []).map(machineView),
    };
  }

  async snapshot(id: string): Promise<RunSnapshot | undefined> {
    const detail = await this.detail(id);
    if (!detail) return undefined;
    const running = new Set(detail.cells.filter((c) => c.status === 'running').map((c) => c.id));
    const samples =
      detail.run.status === 'running'
        ? (await this.recentSamples(id, SNAPSHOT_SAMPLES_MS).catch(() => [])).filter((s) =>
            running.has(s.cellId),
          )
        : [];
    return { ...detail, samples: toChunks(samples, SNAPSHOT_POINTS) };
  }

  /** The run's summary, hardware, box plots and metric charts; undefined for no such run. */
  async charts(id: string): Promise<RunCharts | undefined> {
    const cached = this.chartCache.get(id);
    if (cached) return cached;
    const run = await this.reader.getRun(id);
    if (!run) return undefined;
    const [results, machines] = await Promise.all([
      this.reader.listResults({ runId: id }),
      this.reader.listMachines?.({ runId: id }) ?? Promise.resolve([]),
    ]);
    const notes: string[] = [];
    const samples = await this.reader.listSamples({ runId: id }).catch((err: unknown) => {
      notes.push(`metric samples could not be read: ${errorMessage(err)}`);
      return [];
    });
    const charts: RunCharts = { runId: id, ...buildPictures({ results, samples, machines }), notes };
    if (run.status !== 'running' && notes.length === 0) {
      if (this.chartCache.size >= MAX_CACHED_CHARTS) this.chartCache.clear();
      this.chartCache.set(id, charts);
    }
    return charts;
  }

  results(runId: string): Promise<RepetitionResult[]> {
    return this.reader.listResults({ runId });
  }

  /** The run's samples stamped at or after `fromTs`. */
  async samplesSince(runId: string, fromTs: number): Promise<MetricSample[]> {
    return (await this.reader.listSamples({ runId, since: fromTs })).filter((s) => s.timestamp >= fromTs);
  }

  /** Stored cells do not change once a run has started: read once per run. */
  private async cells(runId: string): Promise<StoredCell[] | undefined> {
    if (!this.reader.listCells) return undefined;
    const cached = this.cellCache.get(runId);
    if (cached) return cached;
    const cells = await this.reader.listCells(runId);
    if (this.cellCache.size >= MAX_CACHED_RUNS) this.cellCache.clear();
    if (cells.length > 0) this.cellCache.set(runId, cells);
    return cells.length > 0 ? cells : undefined;
  }

  private recentSamples(runId: string, ms: number): Promise<MetricSample[]> {
    return this.samplesSince(runId, this.clock.now() - ms).catch(() => []);
  }
}

function activeCells(samples: readonly MetricSample[]): Set<string> {
  return new Set(samples.filter((s) => s.cellId !== '' && s.scope === 'container').map((s) => s.cellId));
}

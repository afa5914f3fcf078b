/**
 * The embedded default store: one SQLite file with runs, cells, results, the runs' machines,
 * metric samples and container events.
 *
 * A failing file (disk full, read-only, locked, I/O error) is the write guard's: the first
 * failed write is the store's fault from then on (`failure`). Samples and events, written
 * from timers where a throw would kill the process, never throw: after a fault they are
 * dropped and counted (`lost`). A run's end is still written, as `error`.
 */
import type Database from 'better-sqlite3';
import path from 'node:path';
import {
  InputError,
  type InfrastructureError,
  type MachineRecord,
  type MatrixCell,
  type MetricSample,
  type MetricSink,
  type RepetitionResult,
  type ResultQuery,
  type ResultReader,
  type ResultStore,
  type RunRecord,
  type StoredCell,
} from '../core/index.js';
import type { ContainerEvent } from '../events/model.js';
import { STATE_DB_FILE, openStateDb } from '../state/index.js';
import { finishedStatus, mergeShards, type ShardPart } from './run-shards.js';
import { keepReserve } from './disk-reserve.js';
import { WriteGuard } from './write-guard.js';

export const DB_FILE = STATE_DB_FILE;

export class SqliteStore implements ResultStore, ResultReader, MetricSink {
  private readonly db: Database.Database;
  readonly file: string;
  private readonly guard: WriteGuard;
  private readonly dropped = { samples: 0, events: 0 };
  /** Per run: whether its end reached the file. */
  private readonly ends = new Map<string, boolean>();
  /** The write statements, prepared once (preparing costs 35–47 µs a call: npm run perf:scale). */
  private readonly statements = new Map<string, Database.Statement>();

  /** Opens (creating if needed) `<stateDir>/benchyard.db`. */
  constructor(readonly stateDir: string) {
    this.file = path.join(stateDir, DB_FILE);
    this.guard = new WriteGuard(this.file, stateDir);
    this.db = openStateDb(stateDir, { name: 'store', synchronous: 'NORMAL' });
    keepReserve(stateDir);
  }

  private statement(sql: string): Database.Statement {
    let prepared = this.statements.get(sql);
    if (!prepared) {
      prepared = this.db.prepare(sql);
      this.statements.set(sql, prepared);
    }
    return prepared;
  }

  /** The first write that failed: the store takes no other write since (a run's end excepted). */
  get failure(): InfrastructureError | undefined {
    return this.guard.fault;
  }

  /** Metric samples and container events not stored since the failure. */
  get lost(): { samples: number; events: number } {
    return { ...this.dropped };
  }

  /** Whether the run's end (`finishRun`) reached the file; undefined when it was not tried. */
  runEndStored(runId: string): boolean | undefined {
    return this.ends.get(runId);
  }

  /**
   * Stops taking writes because the state folder failed elsewhere (an artifact on a full
   * disk): the run ends with `fault`, as if the store had met it.
   */
  fail(fault: InfrastructureError): void {
    this.guard.fail(fault);
  }

  async startRun(run: RunRecord, cells: readonly MatrixCell[]): Promise<void> {
    this.guard.writing(`recording run ${run.id} in`, () => this.insertRun(run, cells));
  }

  private insertRun(run: RunRecord, cells: readonly MatrixCell[]): void {
    const insertCell = this.db.prepare(
      `INSERT OR REPLACE INTO cells VALUES (@run_id, @cell_id, @position, @entry, @benchmark, @target, @provider,
        @params, @image, @argv, @repetitions, @timeout_ms)`,
    );
    const start = this.db.transaction(() => {
      if (run.shard) this.storeShardPart(run, run.shard);
      else this.upsertRun(run);
      for (const c of cells)
        insertCell.run({
          run_id: run.id,
          cell_id: c.id,
          position: c.index,
          entry: c.entry,
          benchmark: c.benchmark,
          target: c.target.name,
          provider: c.target.provider,
          params: JSON.stringify(c.params),
          image: c.image,
          argv: JSON.stringify(c.argv),
          repetitions: c.repetitions,
          timeout_ms: c.timeoutMs,
        });
    });
    // A shard reads the run's row and writes it back: it takes the write lock first.
    if (run.shard) start.immediate();
    else start();
  }

  /**
   * Writes the run's end, even after a fault. A run the store could not fully record is an
   * `error` here, whatever its repetitions did.
   */
  async finishRun(ended: RunRecord): Promise<void> {
    const run: RunRecord =
      this.guard.fault && ended.status !== 'cancelled' && ended.status !== 'running'
        ? { ...ended, status: 'error' }
        : ended;
    const shard = run.shard;
    this.ends.set(run.id, false);
    this.guard.ending(`recording the end of run ${run.id} in`, () => {
      if (shard) this.db.transaction(() => this.storeShardPart(run, shard)).immediate();
      else this.upsertRun(run);
    });
    this.ends.set(run.id, true);
  }

  private upsertRun(run: RunRecord, shards?: { total: number; done: number; status: string | null }): void {
    this.db
      .prepare(
        `INSERT OR REPLACE INTO runs (id, name, matrix_path, status, started_at, finished_at, cells, repetitions,
          passed, failed, shards_total, shards_done, shards_status, tags)
         VALUES (@id, @name, @matrixPath, @status, @startedAt, @finishedAt, @cells, @repetitions, @passed, @failed,
          @shardsTotal, @shardsDone, @shardsStatus, @tags)`,
      )
      .run({
        id: run.id,
        name: run.name,
        matrixPath: run.matrixPath,
        status: run.status,
        startedAt: run.startedAt,
        finishedAt: run.finishedAt ?? null,
        tags: JSON.stringify(run.tags ?? []),
        cells: run.cells,
        repetitions: run.repetitions,
        passed: run.passed,
        failed: run.failed,
        shardsTotal: shards?.total ?? null,
        shardsDone: shards?.done ?? null,
        shardsStatus: shards?.status ?? null,
      });
  }

  /**
   * Stores the shard's part of the run (replacing what the same shard stored before) and
   * rewrites the run's row as the sum of its parts. Runs inside a write transaction.
   */
  private storeShardPart(run: RunRecord, shard: { index: number; total: number }): void {
    const existing = this.db.prepare('SELECT name, shards_total FROM runs WHERE id = ?').get(run.id) as
      { name: string; shards_total: number | null } | undefined;
    if (existing && existing.shards_total === null)
      throw new InputError(`run '${run.id}' exists and is not sharded: give the shards another --run-id`, {
        runId: run.id,
      });
    if (existing && (existing.name !== run.name || existing.shards_total !== shard.total))
      throw new InputError(
        `run '${run.id}' is matrix '${existing.name}' in ${existing.shards_total} shards; shard ${shard.index}/${shard.total} of '${run.name}' cannot join it (same matrix and shard count on every agent, or another --run-id)`,
        { runId: run.id },
      );
    this.db
      .prepare(
        `INSERT OR REPLACE INTO run_shards VALUES (@id, @shard, @matrixPath, @status, @startedAt, @finishedAt,
          @cells, @repetitions, @passed, @failed)`,
      )
      .run({
        id: run.id,
        shard: shard.index,
        matrixPath: run.matrixPath,
        status: run.status,
        startedAt: run.startedAt,
        finishedAt: run.finishedAt ?? null,
        cells: run.cells,
        repetitions: run.repetitions,
        passed: run.passed,
        failed: run.failed,
      });
    const rows = this.db.prepare('SELECT * FROM run_shards WHERE run_id = ?').all(run.id) as ShardRow[];
    const parts = rows.map((r): ShardPart => ({
      ...runCounts(r),
      id: run.id,
      name: run.name,
      shard: { index: r.shard, total: shard.total },
    }));
    // Tags are the run's, not a part's: each shard is started with the same ones.
    const merged = { ...mergeShards(parts), ...(run.tags?.length ? { tags: run.tags } : {}) };
    this.upsertRun(merged, {
      total: shard.total,
      done: merged.shards?.done ?? 0,
      status: finishedStatus(parts) ?? null,
    });
  }

  async recordResult(r: RepetitionResult): Promise<void> {
    this.guard.writing(`recording repetition ${r.repetition} of cell ${r.cellId} in`, () =>
      this.insertResult(r),
    );
  }

  private insertResult(r: RepetitionResult): void {
    this.statement(
      `INSERT OR REPLACE INTO results VALUES (@runId, @cellId, @repetition, @benchmark, @benchmarkVersion, @params,
          @target, @provider, @machineId, @instanceType, @region, @hourlyPriceUsd, @image, @imageDigest, @containerId,
          @status, @failureClass, @failureReason, @exitCode, @scores, @startedAt, @finishedAt, @durationMs, @metrics,
          @artifacts, @warmup, @zone, @fingerprint, @control, @suspect)`,
    ).run({
      ...r,
      region: r.region ?? null,
      zone: r.zone ?? null,
      fingerprint: r.fingerprint ?? null,
      suspect: r.suspect?.length ? JSON.stringify(r.suspect) : null,
      hourlyPriceUsd: r.hourlyPriceUsd ?? null,
      containerId: r.containerId ?? null,
      failureClass: r.failureClass ?? null,
      failureReason: r.failureReason ?? null,
      exitCode: r.exitCode ?? null,
      params: JSON.stringify(r.params),
      scores: JSON.stringify(r.scores),
      metrics: JSON.stringify(r.metrics),
      artifacts: JSON.stringify(r.artifacts),
      warmup: r.warmup ? 1 : 0,
      control: r.control ? 1 : 0,
    });
  }

  async recordMachine(m: MachineRecord): Promise<void> {
    this.guard.writing(`recording machine ${m.machineId} in`, () => this.insertMachine(m));
  }

  private insertMachine(m: MachineRecord): void {
    this.statement(
      `INSERT OR REPLACE INTO machines VALUES (@runId, @machineId, @target, @provider, @instanceType, @region,
          @zone, @hostname, @fingerprint, @collectedAt, @hardware, @placement, @provision)`,
    ).run({
      ...m,
      region: m.region ?? null,
      zone: m.zone ?? null,
      hardware: JSON.stringify(m.hardware),
      placement: m.placement ? JSON.stringify(m.placement) : null,
      provision: m.provision ? JSON.stringify(m.provision) : null,
    });
  }

  /** Never throws (it is called from timers): after a fault, samples are dropped and counted. */
  write(samples: readonly MetricSample[]): void {
    if (samples.length === 0) return;
    try {
      this.guard.writing('storing metric samples in', () => this.insertSamples(samples));
    } catch {
      this.dropped.samples += samples.length;
    }
  }

  private insertSamples(samples: readonly MetricSample[]): void {
    const insert = this.statement(
      `INSERT OR IGNORE INTO metric_samples VALUES (@runId, @cellId, @repetition, @scope, @name, @seq, @timestamp,
        @value, @unit, @containerId, @host, @device)`,
    );
    this.db.transaction(() => {
      for (const s of samples) insert.run({ ...s, containerId: s.containerId ?? '', device: s.device ?? '' });
    })();
  }

  /**
   * Stores container events; one seen again (a reconnected event stream) is stored once.
   * Never throws: after a fault, events are dropped and counted.
   */
  recordEvents(events: readonly ContainerEvent[]): void {
    if (events.length === 0) return;
    try {
      this.guard.writing('storing container events in', () => this.insertEvents(events));
    } catch {
      this.dropped.events += events.length;
    }
  }

  private insertEvents(events: readonly ContainerEvent[]): void {
    const insert = this.statement(
      `INSERT OR IGNORE INTO events VALUES (@machineId, @containerId, @timeNano, @action, @host, @name, @image,
        @exitCode, @signal, @session, @runId, @cellId, @repetition)`,
    );
    this.db.transaction(() => {
      for (const e of events)
        insert.run({
          ...e,
          timeNano: BigInt(e.timeNano),
          image: e.image ?? null,
          exitCode: e.exitCode ?? null,
          signal: e.signal ?? null,
          runId: e.runId ?? '',
          cellId: e.cellId ?? '',
          repetition: e.repetition ?? null,
        });
    })();
  }

  async flush(): Promise<void> {}

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  async listRuns(limit = 50): Promise<RunRecord[]> {
    return (
      this.db.prepare('SELECT * FROM runs ORDER BY started_at DESC, id DESC LIMIT ?').all(limit) as RunRow[]
    ).map(toRun);
  }

  /**
   * A run (or one shard's part of it) whose controller died while it ran: `cancelled`, with
   * the results it stored counted. Answers false when it is not `running` (it ended, or gc
   * marked it before).
   */
  cancelOrphan(runId: string, finishedAt: string, shard?: number): boolean {
    return this.guard.ending(`marking run ${runId} cancelled in`, () =>
      this.cancelOrphanRun(runId, finishedAt, shard),
    );
  }

  private cancelOrphanRun(runId: string, finishedAt: string, shard?: number): boolean {
    return this.db
      .transaction(() => {
        if (shard === undefined) {
          const counted = this.db
            .prepare(
              `UPDATE runs SET status = 'cancelled', finished_at = @finishedAt,
                 passed = (SELECT count(*) FROM results WHERE run_id = @runId AND status = 'passed'),
                 failed = (SELECT count(*) FROM results WHERE run_id = @runId AND status <> 'passed')
               WHERE id = @runId AND status = 'running' AND shards_total IS NULL`,
            )
            .run({ runId, finishedAt });
          return counted.changes > 0;
        }
        const part = this.db
          .prepare("SELECT * FROM run_shards WHERE run_id = ? AND shard = ? AND status = 'running'")
          .get(runId, shard) as ShardRow | undefined;
        const run = this.db.prepare('SELECT name, shards_total, tags FROM runs WHERE id = ?').get(runId) as
          { name: string; shards_total: number | null; tags: string | null } | undefined;
        if (!part || !run?.shards_total) return false;
        this.storeShardPart(
          {
            ...runCounts(part),
            id: runId,
            name: run.name,
            status: 'cancelled',
            finishedAt,
            ...tagsOf(run.tags),
          },
          { index: shard, total: run.shards_total },
        );
        return true;
      })
      .immediate();
  }

  async getRun(id: string): Promise<RunRecord | undefined> {
    const row = this.db.prepare('SELECT * FROM runs WHERE id = ?').get(id) as RunRow | undefined;
    return row && toRun(row);
  }

  async listResults(q: ResultQuery): Promise<RepetitionResult[]> {
    const rows = this.db
      .prepare(
        `SELECT r.* FROM results r LEFT JOIN cells c ON c.run_id = r.run_id AND c.cell_id = r.cell_id
         WHERE (@runId IS NULL OR r.run_id = @runId) ORDER BY r.run_id, c.position, r.repetition`,
      )
      .all({ runId: q.runId ?? null }) as ResultRow[];
    return rows.map(toResult);
  }

  async listSamples(q: ResultQuery): Promise<MetricSample[]> {
    // Only the conditions asked for: `(@x IS NULL OR …)` would keep SQLite off the
    // (run_id, ts) index the live views' `since` reads need.
    const where = [
      ...(q.runId !== undefined ? ['run_id = @runId'] : []),
      ...(q.since !== undefined ? ['ts >= @since'] : []),
    ];
    const rows = this.db
      .prepare(
        `SELECT * FROM metric_samples ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
          ORDER BY ts, name, seq`,
      )
      .all({
        ...(q.runId !== undefined ? { runId: q.runId } : {}),
        ...(q.since !== undefined ? { since: Math.floor(q.since) } : {}),
      }) as SampleRow[];
    return rows.map((s) => ({
      runId: s.run_id,
      cellId: s.cell_id,
      repetition: s.repetition,
      scope: s.scope as MetricSample['scope'],
      name: s.name,
      seq: s.seq,
      timestamp: s.ts,
      value: s.value,
      unit: s.unit,
      host: s.host,
      ...(s.container_id ? { containerId: s.container_id } : {}),
      ...(s.device ? { device: s.device } : {}),
    }));
  }

  async listCells(runId: string): Promise<StoredCell[]> {
    const rows = this.db
      .prepare(
        `SELECT cell_id, position, benchmark, target, provider, params, repetitions
         FROM cells WHERE run_id = ? ORDER BY position`,
      )
      .all(runId) as {
      cell_id: string;
      position: number;
      benchmark: string;
      target: string;
      provider: string;
      params: string;
      repetitions: number;
    }[];
    return rows.map((c) => ({
      id: c.cell_id,
      index: c.position,
      benchmark: c.benchmark,
      target: c.target,
      provider: c.provider,
      params: JSON.parse(c.params) as StoredCell['params'],
      repetitions: c.repetitions,
    }));
  }

  /** A run's machines (all runs' when no run is given), by run then machine id. */
  async listMachines(q: ResultQuery): Promise<MachineRecord[]> {
    const rows = this.db
      .prepare(`SELECT * FROM machines WHERE (@runId IS NULL OR run_id = @runId) ORDER BY run_id, machine_id`)
      .all({ runId: q.runId ?? null }) as MachineRow[];
    return rows.map((m) => ({
      runId: m.run_id,
      machineId: m.machine_id,
      target: m.target,
      provider: m.provider,
      instanceType: m.instance_type,
      ...(m.region !== null ? { region: m.region } : {}),
      ...(m.zone !== null ? { zone: m.zone } : {}),
      hostname: m.hostname,
      fingerprint: m.fingerprint,
      collectedAt: m.collected_at,
      hardware: JSON.parse(m.hardware) as unknown,
      ...(m.placement ? { placement: JSON.parse(m.placement) as Record<string, string> } : {}),
      ...(m.provision ? { provision: JSON.parse(m.provision) as MachineRecord['provision'] } : {}),
    }));
  }

  /** Container events in engine time order (all runs' when no run is given). */
  async listEvents(q: ResultQuery): Promise<ContainerEvent[]> {
    const rows = this.db
      .prepare(
        `SELECT machine_id, container_id, CAST(time_nano AS TEXT) AS time_nano, action, host, name, image,
           exit_code, signal, session, run_id, cell_id, repetition
         FROM events WHERE (@runId IS NULL OR run_id = @runId)
         ORDER BY events.time_nano, machine_id, container_id, action`,
      )
      .all({ runId: q.runId ?? null }) as EventRow[];
    return rows.map((e) => ({
      machineId: e.machine_id,
      host: e.host,
      containerId: e.container_id,
      name: e.name,
      ...(e.image !== null ? { image: e.image } : {}),
      action: e.action,
      ...(e.exit_code !== null ? { exitCode: e.exit_code } : {}),
      ...(e.signal !== null ? { signal: e.signal } : {}),
      timeNano: e.time_nano,
      timestamp: Number(BigInt(e.time_nano) / 1_000_000n),
      session: e.session,
      ...(e.run_id ? { runId: e.run_id } : {}),
      ...(e.cell_id ? { cellId: e.cell_id } : {}),
      ...(e.repetition !== null ? { repetition: e.repetition } : {}),
    }));
  }
}

type MachineRow = {
  run_id: string;
  machine_id: string;
  target: string;
  provider: string;
  instance_type: string;
  region: string | null;
  zone: string | null;
  hostname: string;
  fingerprint: string;
  collected_at: string;
  hardware: string;
  placement: string | null;
  provision: string | null;
};
type EventRow = {
  machine_id: string;
  container_id: string;
  time_nano: string;
  action: string;
  host: string;
  name: string;
  image: string | null;
  exit_code: number | null;
  signal: string | null;
  session: string;
  run_id: string;
  cell_id: string;
  repetition: number | null;
};
type RunRow = {
  id: string;
  name: string;
  matrix_path: string;
  status: RunRecord['status'];
  started_at: string;
  finished_at: string | null;
  cells: number;
  repetitions: number;
  passed: number;
  failed: number;
  shards_total: number | null;
  shards_done: number | null;
  shards_status: RunRecord['status'] | null;
  tags: string | null;
};
type ShardRow = {
  run_id: string;
  shard: number;
  matrix_path: string;
  status: RunRecord['status'];
  started_at: string;
  finished_at: string | null;
  cells: number;
  repetitions: number;
  passed: number;
  failed: number;
};
type ResultRow = Record<string, string | number | null>;
type SampleRow = {
  run_id: string;
  cell_id: string;
  repetition: number;
  scope: string;
  name: string;
  seq: number;
  ts: number;
  value: number;
  unit: string;
  container_id: string;
  host: string;
  device: string;
};

/** What a `runs` row and a `run_shards` row share: where, how it went, and its counts. */
function runCounts(r: ShardRow | RunRow) {
  return {
    matrixPath: r.matrix_path,
    status: r.status,
    startedAt: r.started_at,
    ...(r.finished_at ? { finishedAt: r.finished_at } : {}),
    cells: r.cells,
    repetitions: r.repetitions,
    passed: r.passed,
    failed: r.failed,
  };
}

function toRun(r: RunRow): RunRecord {
  return {
    id: r.id,
    name: r.name,
    ...runCounts(r),
    ...(r.shards_total !== null ? { shards: { total: r.shards_total, done: r.shards_done ?? 0 } } : {}),
    ...tagsOf(r.tags),
  };
}

function tagsOf(json: string | null | undefined): { tags?: string[] } {
  const tags = json ? (JSON.parse(json) as string[]) : [];
  return tags.length > 0 ? { tags } : {};
}

function toResult(r: ResultRow): RepetitionResult {
  const opt = <T>(v: T | null) => (v === null ? undefined : v);
  return {
    runId: String(r.run_id),
    cellId: String(r.cell_id),
    repetition: Number(r.repetition),
    benchmark: String(r.benchmark),
    benchmarkVersion: Number(r.benchmark_version),
    params: JSON.parse(String(r.params)),
    target: String(r.target),
    provider: String(r.provider),
    machineId: String(r.machine_id),
    instanceType: String(r.instance_type),
    region: opt(r.region) as string | undefined,
    zone: opt(r.zone) as string | undefined,
    fingerprint: opt(r.fingerprint) as string | undefined,
    hourlyPriceUsd: opt(r.hourly_price_usd) as number | undefined,
    image: String(r.image),
    imageDigest: String(r.image_digest),
    containerId: opt(r.container_id) as string | undefined,
    status: r.status as RepetitionResult['status'],
    failureClass: opt(r.failure_class) as RepetitionResult['failureClass'],
    failureReason: opt(r.failure_reason) as string | undefined,
    exitCode: opt(r.exit_code) as number | undefined,
    scores: JSON.parse(String(r.scores)),
    startedAt: String(r.started_at),
    finishedAt: String(r.finished_at),
    durationMs: Number(r.duration_ms),
    metrics: JSON.parse(String(r.metrics)),
    artifacts: JSON.parse(String(r.artifacts)),
    warmup: r.warmup === 1,
    ...(r.control === 1 ? { control: true } : {}),
    ...(typeof r.suspect === 'string' ? { suspect: JSON.parse(r.suspect) as string[] } : {}),
  };
}

/**
 * Writes to a primary store (the embedded SQLite, the record of truth) and any number of
 * secondary ones (Elasticsearch). A secondary failure is logged and reported when the
 * fanout closes, so a long run is not thrown away because a remote store hiccuped.
 */
import {
  InfrastructureError,
  errorMessage,
  type Logger,
  type MachineRecord,
  type MatrixCell,
  type MetricSample,
  type MetricSink,
  type MetricSinkStats,
  type RepetitionResult,
  type ResultStore,
  type RunRecord,
} from '../core/index.js';

export type Store = ResultStore & MetricSink;

export class FanoutStore implements ResultStore, MetricSink {
  private readonly failures: string[] = [];

  constructor(
    private readonly primary: Store,
    private readonly secondaries: readonly Store[],
    private readonly logger: Logger,
  ) {}

  async startRun(run: RunRecord, cells: readonly MatrixCell[]) {
    await this.all((s) => s.startRun(run, cells));
  }
  async recordResult(result: RepetitionResult) {
    await this.all((s) => s.recordResult(result));
  }
  async recordMachine(machine: MachineRecord) {
    await this.all((s) => s.recordMachine?.(machine) ?? Promise.resolve());
  }
  /** The secondaries hear the run's end even where the primary cannot store it. */
  async finishRun(run: RunRecord) {
    const primary = await this.primary.finishRun(run).then(
      () => undefined,
      (err: unknown) => ({ err }),
    );
    await this.onSecondaries((s) => s.finishRun(run));
    if (primary) throw primary.err;
  }
  write(samples: readonly MetricSample[]) {
    this.primary.write(samples);
    for (const s of this.secondaries) s.write(samples);
  }
  /** The secondaries' sink state added up (the embedded store has none to report). */
  stats(): MetricSinkStats | undefined {
    const all = this.secondaries.map((s) => s.stats?.()).filter((s): s is MetricSinkStats => s !== undefined);
    if (all.length === 0) return undefined;
    const sum = (k: keyof MetricSinkStats) => all.reduce((n, s) => n + s[k], 0);
    return {
      spooledBatches: sum('spooledBatches'),
      spooledBytes: sum('spooledBytes'),
      memoryBytes: sum('memoryBytes'),
      dropped: sum('dropped'),
      retries: sum('retries'),
      backoffMs: sum('backoffMs'),
    };
  }

  async flush() {
    await this.all((s) => s.flush());
  }

  /** Closes every store; throws if a secondary failed at any point. */
  async close() {
    await this.all((s) => s.close());
    if (this.failures.length > 0)
      throw new InfrastructureError(
        `results are complete in the embedded store, but a secondary store failed: ${[...new Set(this.failures)].join('; ')}`,
      );
  }

  private async all(op: (s: Store) => Promise<void>) {
    await op(this.primary);
    await this.onSecondaries(op);
  }

  private async onSecondaries(op: (s: Store) => Promise<void>) {
    await Promise.all(
      this.secondaries.map((s) =>
        op(s).catch((err: unknown) => {
          const msg = errorMessage(err);
          if (!this.failures.includes(msg)) this.logger.warn(`store write failed: ${msg}`);
          this.failures.push(msg);
        }),
      ),
    );
  }
}

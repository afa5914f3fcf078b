/** The stores' ports in memory: what the scheduler recorded, in the order it did. */
import type {
  MachineRecord,
  MatrixCell,
  MetricSample,
  MetricSink,
  RepetitionResult,
  ResultStore,
  RunRecord,
} from '../../../src/core/index.js';

export class MemoryStore implements ResultStore, MetricSink {
  readonly runs: RunRecord[] = [];
  readonly finished: RunRecord[] = [];
  readonly results: RepetitionResult[] = [];
  readonly machines: MachineRecord[] = [];
  cells: readonly MatrixCell[] = [];
  samples = 0;
  flushes = 0;

  async startRun(run: RunRecord, cells: readonly MatrixCell[]): Promise<void> {
    this.runs.push(structuredClone(run));
    this.cells = cells;
  }
  async recordResult(result: RepetitionResult): Promise<void> {
    this.results.push(result);
  }
  async recordMachine(machine: MachineRecord): Promise<void> {
    this.machines.push(machine);
  }
  async finishRun(run: RunRecord): Promise<void> {
    this.finished.push(structuredClone(run));
  }
  write(samples: readonly MetricSample[]): void {
    this.samples += samples.length;
  }
  async flush(): Promise<void> {
    this.flushes++;
  }
  async close(): Promise<void> {}
}

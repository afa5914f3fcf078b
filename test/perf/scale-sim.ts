/**
 * What `perf:scale` adds to the simulation kit (test/helpers/sim) to drive the real stores:
 * a behaviour of 60 s repetitions with jitter, a monitor that hands each repetition's
 * metric samples to the store's sink as the real one does, and a store whose calls the
 * virtual clock waits for (real I/O in simulated time).
 */
import type {
  MachineRecord,
  MatrixCell,
  MetricSample,
  MetricSink,
  RepetitionResult,
  ResultStore,
  RunRecord,
} from '../../src/core/index.js';
import type { ContainerWatch, Monitor, SampleContext } from '../../src/metrics/index.js';
import type { FanoutStore } from '../../src/store/index.js';
import type { Behaviour } from '../helpers/sim/fake-engine.js';
import type { FakeProvider } from '../helpers/sim/fake-provider.js';
import { CountingMonitor } from '../helpers/sim/null-monitor.js';
import type { VirtualClock } from '../helpers/sim/virtual-clock.js';

/** Simulated run time of a repetition, ± JITTER_MS. */
export const REPETITION_MS = 60_000;
const JITTER_MS = 5_000;

/** A deterministic number in [0, 1) per text (FNV-1a), so runs of one size are alike. */
function unit(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0) / 2 ** 32;
}

/**
 * Every container prints one score after 60 s ± 5 s. The fake engine logs every create
 * call (with its spec) for tests to inspect; 100,000 of them would be the simulation's
 * memory, not the controller's, so the log is emptied as it grows.
 */
export function sixtySeconds(provider: () => FakeProvider): Behaviour {
  return (call) => {
    const engine = provider().engines.get(`fake:${call.engine}`);
    if (engine) engine.calls.length = 0;
    const r = unit(`${call.engine}/${call.cell}/${call.repetition}`);
    return {
      durationMs: Math.round(REPETITION_MS + (2 * r - 1) * JITTER_MS),
      stdout: `score: ${(100 + 10 * r).toFixed(3)}\n`,
      exitCode: 0,
    };
  };
}

/**
 * The CountingMonitor (no sampling), plus what the real monitor hands the sink for a
 * repetition: `samples` container samples spread over its run time, written in one batch
 * when it ends (as the monitor's quiet mode does; unquiet, it writes one batch per tick).
 */
export class SampleWritingMonitor implements Monitor {
  private readonly counting: CountingMonitor;

  constructor(
    private readonly host: string,
    private readonly sink: MetricSink,
    private readonly clock: VirtualClock,
    private readonly samples: number,
  ) {
    this.counting = new CountingMonitor(host);
  }

  start(): Promise<void> {
    return this.counting.start();
  }
  quiesce(): Promise<(() => void) | undefined> {
    return this.counting.quiesce();
  }
  stop(): Promise<void> {
    return this.counting.stop();
  }

  watch(ctx: SampleContext, container: { id: string; pid: number }): ContainerWatch {
    const inner = this.counting.watch();
    const t0 = this.clock.now();
    return {
      ...inner,
      finish: async () => {
        const summary = await inner.finish();
        const step = (this.clock.now() - t0) / this.samples;
        const batch: MetricSample[] = Array.from({ length: this.samples }, (_, k) => ({
          ...ctx,
          scope: 'container',
          name: 'container.cpu.usage.cores',
          unit: 'cores',
          value: 0.9 + 0.1 * unit(`${container.id}/${k}`),
          timestamp: Math.round(t0 + (k + 1) * step),
          seq: k + 1,
          containerId: container.id,
          host: this.host,
        }));
        this.sink.write(batch);
        return { ...summary, samples: batch.length };
      },
    };
  }
}

/**
 * The real stores, each call held by the virtual clock: while Elasticsearch answers, at
 * most `lagMs` of simulated time passes (a round trip of milliseconds must not be minutes
 * of simulated time, nor the simulation stuck with only real I/O pending).
 */
export class HeldStore implements ResultStore, MetricSink {
  constructor(
    readonly inner: FanoutStore,
    private readonly clock: VirtualClock,
    private readonly lagMs: number,
  ) {}

  startRun(run: RunRecord, cells: readonly MatrixCell[]) {
    return this.clock.hold(this.inner.startRun(run, cells), this.lagMs);
  }
  recordResult(result: RepetitionResult) {
    return this.clock.hold(this.inner.recordResult(result), this.lagMs);
  }
  recordMachine(machine: MachineRecord) {
    return this.clock.hold(this.inner.recordMachine(machine), this.lagMs);
  }
  finishRun(run: RunRecord) {
    return this.clock.hold(this.inner.finishRun(run), this.lagMs);
  }
  write(samples: readonly MetricSample[]) {
    this.inner.write(samples);
  }
  flush() {
    return this.clock.hold(this.inner.flush(), this.lagMs);
  }
  stats() {
    return this.inner.stats();
  }
  close() {
    return this.inner.close();
  }
}

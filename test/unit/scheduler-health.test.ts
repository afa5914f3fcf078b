/**
 * A repetition on a throttling GPU is recorded as suspect: the real scheduler, repetition
 * runner, `MachineMonitor` and health watch over simulated machines in simulated time
 * (test/helpers/sim). The GPU stream is the `--query-gpu` CSV format (as in
 * test/fixtures/nvidia-smi-csv, written from a recorded T4), parsed by the real parser; its
 * snapshots are the recorded T4's `nvidia-smi -q -x` (test/fixtures/nvidia-smi/SOURCE.md).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Clock } from '../../src/core/index.js';
import { parseGpuHealthXml, parseGpuQueryLine } from '../../src/metrics/gpu/index.js';
import { MachineHealth, MachineMonitor, type PushSource, type Reading } from '../../src/metrics/index.js';
import { ROOT } from '../helpers/catalog.js';
import type { Behaviour } from '../helpers/sim/fake-engine.js';
import { fakeMatrix, simulation, type SimOptions } from '../helpers/sim/simulate.js';

const T4 = 'GPU-d37e67a5-91dd-3774-a5cb-99096249601a';
const t4 = parseGpuHealthXml(readFileSync(path.join(ROOT, 'test/fixtures/nvidia-smi/tesla-t4.xml'), 'utf8'));

/** nvidia-smi's `-lms 1000` stream of one T4: the software power cap active while `capped()`. */
class GpuStream implements PushSource {
  readonly name = 'gpu:sim';
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly capped: () => boolean,
  ) {}

  start(emit: (readings: readonly Reading[]) => void): void {
    this.loop = (async () => {
      for (;;) {
        try {
          await this.clock.sleep(1000, this.stopping.signal);
        } catch {
          return;
        }
        const mask = this.capped() ? '0x0000000000000004' : '0x0000000000000000';
        emit(
          parseGpuQueryLine(
            `${T4}, 0, Tesla T4, 97, 40, 1032, 15360, 69.80, 71, 1185, ${mask}`,
            this.clock.now(),
          ),
        );
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.loop;
  }
}

/** Each machine's real monitor and health watch: one T4, power-capped while `capped()`. */
function t4Monitor(capped: () => boolean): NonNullable<SimOptions['monitor']> {
  return (machine, { clock, store }) =>
    new MachineMonitor({
      host: machine.hostname,
      intervalMs: 1000,
      output: store,
      containers: false,
      clock,
      sources: [new GpuStream(clock, capped)],
      health: new MachineHealth({ host: machine.hostname, gpu: async () => ({ status: 'known', gpus: t4 }) }),
    });
}

describe('scheduler: hardware health of each repetition', () => {
  it('the repetition that ran while the GPU was power-capped is suspect; the others are not', async () => {
    let capped = false;
    // Repetition 2's container runs with the power cap on; the others' with it off.
    const behave: Behaviour = (call) => {
      capped = call.repetition === 2;
      return { durationMs: 10_000, stdout: 'score: 100\n', exitCode: 0 };
    };
    const sim = simulation(
      fakeMatrix({
        cells: 1,
        repetitions: 3,
        targets: '  - { name: lab, provider: ssh, hosts: [h1] }',
        extra: 'health: { powerCappedShare: 10% }',
      }),
      {
        behave,
        monitor: t4Monitor(() => capped),
      },
    );
    const out = await sim.run();

    expect(out.results.map((r) => [r.repetition, r.status])).toEqual([
      [1, 'passed'],
      [2, 'passed'],
      [3, 'passed'],
    ]);
    const [first, second, third] = sim.store.results;
    expect(second!.suspect).toEqual(['GPU 0 power-capped 100 % of the time']);
    expect(first!.suspect).toBeUndefined();
    expect(third!.suspect).toBeUndefined();
    // The stream reached the store too: the samples the judgement read are kept.
    expect(sim.store.samples).toBeGreaterThan(30);
  });

  it('health: false records no reason', async () => {
    const sim = simulation(
      fakeMatrix({
        cells: 1,
        repetitions: 1,
        targets: '  - { name: lab, provider: ssh, hosts: [h1] }',
        extra: 'health: false',
      }),
      {
        monitor: t4Monitor(() => true),
      },
    );
    await sim.run();
    expect(sim.store.results).toHaveLength(1);
    expect(sim.store.results[0]!.suspect).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import { silentLogger, type MetricSample } from '../../src/core/index.js';
import { ContainerRunner } from '../../src/engine/index.js';
import { ContainerSampler } from '../../src/metrics/index.js';
import { BENCH_IMAGE, docker } from '../helpers/services.js';

describe('ContainerSampler on a real container', () => {
  it('sees one busy core for a one-thread CPU benchmark, and its memory', async () => {
    const samples: MetricSample[] = [];
    let sampler: ContainerSampler | undefined;
    await new ContainerRunner(docker(), silentLogger).run(
      {
        name: `benchyard-sampler-${process.pid}`,
        image: BENCH_IMAGE,
        argv: ['stress-ng', '--cpu', '1', '--vm', '1', '--vm-bytes', '64M', '--vm-keep', '--timeout', '3s'],
        labels: { 'io.benchyard.managed': 'true' },
        network: 'none',
        timeoutMs: 30_000,
      },
      {
        signal: new AbortController().signal,
        onStarted: ({ id, pid }) => {
          sampler = new ContainerSampler(
            { runId: 'r', cellId: 'c', repetition: 1, containerId: id, host: 'h' },
            { intervalMs: 250, emit: (s) => samples.push(...s) },
          );
          sampler.start(pid);
        },
      },
    );
    const summary = await sampler!.finish();
    // stress-ng: one CPU worker plus one VM worker touching 64 MiB: about 2 cores busy on
    // this 2-core machine, never more than the machine has.
    expect(summary.samples).toBeGreaterThanOrEqual(8);
    expect(summary.cpuCoresMean).toBeGreaterThan(0.8); // ~1.97 measured on an idle machine
    expect(summary.cpuCoresMax).toBeLessThan(2.3);
    expect(summary.memoryBytesMax).toBeGreaterThan(60 * 1024 * 1024);
    const seqs = samples.filter((s) => s.name === 'container.memory.usage.bytes').map((s) => s.seq);
    expect(seqs).toEqual([...seqs.keys()]);
  });
});

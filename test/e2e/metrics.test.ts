/** A user's run with the agent collecting, then the samples read back with `results --samples`. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { MetricSample } from '../../src/core/index.js';
import { cli } from '../helpers/cli.js';
import { docker } from '../helpers/services.js';

describe('metrics as a user sees them', () => {
  it('runs a matrix with the agent collecting and lists its series', { timeout: 300_000 }, async () => {
    const work = mkdtempSync(path.join(os.tmpdir(), 'by-metrics-'));
    const file = path.join(work, 'm.yaml');
    writeFileSync(
      file,
      `name: agent-metrics
repetitions: 1
metrics: {interval: 250ms, collector: agent, gpu: false}
targets: [{name: here, provider: local}]
benchmarks: [{benchmark: sysbench-cpu, params: {time: 2}}]
`,
    );
    const session = `e2e-metrics-${process.pid}`;
    const run = await cli(['run', file, '--state', work], { cwd: work, env: { BENCHYARD_SESSION: session } });
    expect(run.code, run.stderr).toBe(0);

    const json = await cli(['results', '--samples', '--json', '--state', work]);
    expect(json.code, json.stderr).toBe(0);
    const samples = (JSON.parse(json.stdout) as { samples: MetricSample[] }).samples;
    const names = new Set(samples.map((s) => s.name));
    for (const n of [
      'container.cpu.usage.cores',
      'container.memory.usage.bytes',
      'host.cpu.usage.pct',
      'collector.cpu.seconds',
    ])
      expect(names).toContain(n);
    // sysbench with one thread keeps about one core busy, as the agent saw it.
    const cpu = samples.filter((s) => s.name === 'container.cpu.usage.cores').map((s) => s.value);
    expect(Math.max(...cpu)).toBeGreaterThan(0.7);

    // Many samples: a table per machine and cell, headed by what ran there, a row per series.
    const table = await cli(['results', '--samples', '--state', work]);
    expect(table.stdout).toMatch(/^here\/\S+ · cell [0-9a-f]{12}: sysbench-cpu \S.*time=2/m);
    expect(table.stdout).toMatch(/│ container\.cpu\.usage\.cores +│ +│ cores +│ \d+ +│/);
    expect(table.stdout).toMatch(/samples, one row per series: --all lists every sample/);
    // Chosen by scope and metric (a glob), in JSON and as a table of every sample.
    const chosenCpu = await cli([
      'results',
      '--samples',
      '--json',
      '--scope',
      'container',
      '--metric',
      'container.cpu.*',
      '--state',
      work,
    ]);
    const chosen = (JSON.parse(chosenCpu.stdout) as { samples: MetricSample[] }).samples;
    expect(chosen.length).toBeGreaterThan(0);
    expect(chosen.every((s) => s.scope === 'container' && s.name.startsWith('container.cpu.'))).toBe(true);
    const one = await cli([
      'results',
      '--samples',
      '--metric',
      'container.cpu.usage.cores',
      '--all',
      '--state',
      work,
    ]);
    expect(
      one.stdout.match(/│ \+\d+\.\d{3}s │ here\/\S+ +│ [0-9a-f]{12} │ 1 +│ container\.cpu\.usage\.cores │/g),
    ).toHaveLength(samples.filter((s) => s.name === 'container.cpu.usage.cores').length);
    const bad = await cli(['results', '--samples', '--scope', 'disk', '--state', work]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--scope 'disk': expected one of container, host, gpu, app, collector/);
    // The agent container is gone.
    const left = await docker().listContainers({
      all: true,
      filters: { label: [`io.benchyard.session=${session}`] },
    });
    expect(left).toEqual([]);
  });
});

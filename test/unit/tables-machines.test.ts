/** Where things ran, in the terminal: `results`' machine column, CI progress lines, samples. */
import { describe, expect, it } from 'vitest';
import { createProgress } from '../../src/cli/progress.js';
import type { Machine, MetricSample, StoredCell } from '../../src/core/index.js';
import {
  MachineNames,
  compactNumber,
  displayWidth,
  resultsTable,
  samplesTable,
  selectSamples,
  seriesTable,
} from '../../src/report/index.js';
import { planText } from '../helpers/catalog.js';
import { repetitionResult } from '../helpers/results.js';

const names = new MachineNames([
  { machineId: 'ssh:root@10.0.0.12:22', target: 'lab', hostname: '10.0.0.12' },
  { machineId: 'ssh:root@10.0.0.13:22', target: 'lab', hostname: '10.0.0.13' },
  // One engine serving two targets: its samples cannot say which, so they name the host alone.
  { machineId: 'local:vm', target: 'a', hostname: 'vm' },
  { machineId: 'local:vm/b', target: 'b', hostname: 'vm' },
]);

function sample(over: Partial<MetricSample>): MetricSample {
  return {
    runId: 'r',
    cellId: 'aaaa11112222',
    repetition: 1,
    scope: 'host',
    name: 'host.cpu.usage.pct',
    unit: 'pct',
    value: 1,
    timestamp: 1_000,
    seq: 0,
    host: '10.0.0.12',
    ...over,
  };
}

describe('results: the machine of each repetition', () => {
  it('shows target/host, or the machine id where the run kept no record of it', () => {
    const table = resultsTable(
      [
        repetitionResult({ cellId: 'c1', target: 'lab', machineId: 'ssh:root@10.0.0.12:22' }),
        repetitionResult({ cellId: 'c2', target: 'lab', machineId: 'ssh:gone' }),
      ],
      undefined,
      names.hostById,
    );
    expect(table.split('\n')[1]).toMatch(/│ machine +│/);
    expect(table).toMatch(/│ c1 +│ 1 +│ lab\/10\.0\.0\.12 +│/);
    expect(table).toMatch(/│ c2 +│ 1 +│ lab\/ssh:gone +│/);
  });

  it('a results table fits 80 columns with long params, nothing cut', () => {
    const params = {
      threads: 1,
      time: 2,
      block_size: '1M',
      total_size: '100T',
      operation: 'read',
      access_mode: 'seq',
    };
    const table = resultsTable(
      [
        repetitionResult({
          params,
          benchmark: 'sysbench-memory',
          scores: [{ name: 'operations_per_second', value: 84217, unit: 'ops/s', direction: 'higher' }],
        }),
      ],
      80,
    );
    for (const line of table.split('\n')) expect(displayWidth(line)).toBeLessThanOrEqual(80);
    for (const p of ['sysbench-memory', 'access_mode=seq', 'total_size=100T', '84217'])
      expect(table).toContain(p);
    // A word wider than its column breaks after an underscore, not anywhere.
    expect(table).toMatch(/│ operations_per_ +│[^\n]*\n[^\n]*│ second 84217 +│/);
  });
});

describe('CI progress lines name the machine', () => {
  it('on target/host #repetition, the host from the machine-ready event', async () => {
    const plan = await planText(`name: p
targets: [{ name: lab, provider: local }]
benchmarks: [{ benchmark: sysbench-cpu, params: { time: 1 } }]
`);
    const cell = plan.cells[0]!;
    const lines: string[] = [];
    const progress = createProgress(2, { interactive: false, write: (l) => lines.push(l) });
    progress.onEvent({
      type: 'machine-ready',
      target: 'lab',
      machine: { id: 'ssh:root@10.0.0.12:22', hostname: '10.0.0.12' } as Machine,
    });
    progress.onEvent({
      type: 'repetition-finished',
      cell,
      result: repetitionResult({ machineId: 'ssh:root@10.0.0.12:22', repetition: 2 }),
    });
    progress.onEvent({
      type: 'repetition-finished',
      cell,
      result: repetitionResult({ machineId: 'ssh:never-ready', repetition: 1 }),
    });
    expect(lines[1]).toMatch(/^\[1\/2\] sysbench-cpu .* on lab\/10\.0\.0\.12 #2: passed/);
    expect(lines[2]).toMatch(/ on lab\/ssh:never-ready #1: passed/);
  });
});

describe('results --samples', () => {
  const samples = [
    sample({ value: 10, timestamp: 1_000 }),
    sample({ value: 30, timestamp: 1_250 }),
    sample({ value: 20, timestamp: 1_500, repetition: 2 }),
    sample({ host: '10.0.0.13', cellId: 'bbbb11112222', value: 5 }),
    sample({ scope: 'container', name: 'container.cpu.usage.cores', unit: 'cores', value: 0.9 }),
    sample({ scope: 'collector', name: 'collector.cpu.pct', cellId: '', repetition: 0, host: 'vm' }),
  ];

  it('chooses by cell (or its beginning), machine (id, host or target/host), scope and metric glob', () => {
    const pick = (f: Parameters<typeof selectSamples>[1]) => selectSamples(samples, f, names).length;
    expect(pick({})).toBe(6);
    expect(pick({ cells: ['aaaa'] })).toBe(4);
    expect(pick({ cells: ['bbbb11112222', 'aaaa'] })).toBe(5);
    expect(pick({ machines: ['lab/10.0.0.13'] })).toBe(1);
    expect(pick({ machines: ['10.0.0.13'] })).toBe(1);
    expect(pick({ machines: ['ssh:root@10.0.0.12:22'] })).toBe(0); // samples know their host, not the id
    expect(pick({ machines: ['vm'] })).toBe(1);
    expect(pick({ scopes: ['container', 'collector'] })).toBe(2);
    expect(pick({ metrics: ['host.*'] })).toBe(4);
    expect(pick({ metrics: ['*.cpu.*'] })).toBe(6);
    expect(pick({ metrics: ['host.cpu'] })).toBe(0);
    expect(pick({ metrics: ['host.cpu.usage.pc?'] })).toBe(0); // '?' is a character, not a wildcard
    expect(pick({ cells: ['aaaa'], scopes: ['host'], machines: ['lab/10.0.0.12'] })).toBe(3);
  });

  it('a table per machine and cell, headed by what ran; a row per series with n, min, median, max', () => {
    const cells: Pick<StoredCell, 'id' | 'benchmark' | 'params'>[] = [
      { id: 'bbbb11112222', benchmark: 'fio', params: { size: '64M' } },
      { id: 'aaaa11112222', benchmark: 'sysbench-cpu', params: { threads: 2 } },
    ];
    const out = seriesTable(samples, { names, cells });
    const headings = out.split('\n').filter((l) => l.includes(' · '));
    expect(headings).toEqual([
      'lab/10.0.0.12 · cell aaaa11112222: sysbench-cpu threads=2',
      'lab/10.0.0.13 · cell bbbb11112222: fio size=64M',
      'vm · between repetitions',
    ]);
    expect(out).toMatch(/│ host\.cpu\.usage\.pct +│ +│ pct +│ 3 │ 10 +│ 20 +│ 30 +│/);
    expect(out).toMatch(/│ container\.cpu\.usage\.cores │ +│ cores │ 1 │ 0\.9 +│/);
    const perRep = seriesTable(
      samples.filter((s) => s.name === 'host.cpu.usage.pct'),
      { names, perRepetition: true },
    );
    expect(perRep.split('\n').filter((l) => l.includes('host.cpu.usage.pct'))).toHaveLength(3);
    expect(perRep).toMatch(/│ 1 +│ host\.cpu\.usage\.pct │ +│ pct +│ 2 │ 10 +│ 20 +│ 30 +│/);
  });

  it('a series of 200,000 samples is summarised (no call with that many arguments)', () => {
    const many = Array.from({ length: 200_000 }, (_, i) => sample({ value: i, seq: i }));
    expect(seriesTable(many, { names })).toMatch(/│ 200000 │ 0 +│ 100000 +│ 200k +│/);
  });

  it('large values keep 4 significant digits and an SI prefix', () => {
    expect(compactNumber(265067371)).toBe('265.1M');
    expect(compactNumber(99999)).toBe('99999');
    expect(compactNumber(100000)).toBe('100k');
    expect(compactNumber(999960)).toBe('1M');
    expect(compactNumber(-1850512)).toBe('-1.851M');
    expect(compactNumber(0.0291)).toBe('0.0291');
    expect(compactNumber(NaN)).toBe('NaN');
  });

  it('every sample: seconds since the run started, where, what and the value with its unit', () => {
    const table = samplesTable(samples.slice(0, 2), { names, since: 0 });
    expect(table).toMatch(
      /│ \+1\.000s │ lab\/10\.0\.0\.12 │ aaaa11112222 │ 1 +│ host\.cpu\.usage\.pct │ +│ 10 pct +│/,
    );
    expect(table).toMatch(/│ \+1\.250s │/);
  });
});

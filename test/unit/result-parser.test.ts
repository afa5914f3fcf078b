// Outputs recorded from the real tools: test/fixtures/outputs/SOURCE.md
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseScores } from '../../src/engine/index.js';
import { builtinCatalog, FIXTURES } from '../helpers/catalog.js';

const out = (name: string) => readFileSync(path.join(FIXTURES, 'outputs', name), 'utf8');
const scoresOf = async (benchmark: string) => (await builtinCatalog()).get(benchmark)!.scores;

describe('parseScores against recorded tool output', () => {
  it('sysbench cpu: events/s and latency', async () => {
    const r = parseScores(await scoresOf('sysbench-cpu'), { stdout: out('sysbench-cpu.txt'), stderr: '' });
    expect(r.ok).toBe(true);
    const s = r.ok ? Object.fromEntries(r.scores.map((x) => [x.name, x])) : {};
    expect(s.events_per_second).toEqual({
      name: 'events_per_second',
      value: 6258.18,
      unit: 'events/s',
      direction: 'higher',
    });
    expect(s.latency_avg).toMatchObject({ value: 0.32, unit: 'ms', direction: 'lower' });
    expect(s.latency_p95).toMatchObject({ value: 0.35, unit: 'ms', direction: 'lower' });
  });

  it('sysbench memory: MiB/s and ops/s', async () => {
    const r = parseScores(await scoresOf('sysbench-memory'), {
      stdout: out('sysbench-memory.txt'),
      stderr: '',
    });
    expect(r.ok && r.scores.map((s) => [s.name, s.value])).toEqual([
      ['bandwidth', 4555.4],
      ['operations_per_second', 4664727.62],
    ]);
  });

  it('fio JSON: iops, bandwidth, latency percentiles scaled ns → us', async () => {
    const r = parseScores(await scoresOf('fio'), { stdout: out('fio-randread.json'), stderr: '' });
    const json = JSON.parse(out('fio-randread.json')).jobs[0].read;
    expect(r.ok).toBe(true);
    const s = r.ok ? Object.fromEntries(r.scores.map((x) => [x.name, x.value])) : {};
    expect(s.iops).toBe(json.iops);
    expect(s.bandwidth).toBe(json.bw);
    expect(s.latency_p99).toBeCloseTo(json.clat_ns.percentile['99.000000'] / 1000, 6);
    expect(s.latency_mean).toBeGreaterThan(0);
  });

  it('tolerates tool chatter before the JSON document', async () => {
    const r = parseScores(await scoresOf('fio'), {
      stdout: `note: something\n${out('fio-randread.json')}`,
      stderr: '',
    });
    expect(r.ok).toBe(true);
  });

  it('fails naming the missing score and showing the tail of the output', async () => {
    const r = parseScores(await scoresOf('sysbench-cpu'), { stdout: 'segfault\nbye\n', stderr: '' });
    expect(r).toEqual({
      ok: false,
      reason: expect.stringMatching(
        /^score not found: events_per_second \(regex .*\); .*output ends with: "segfault ⏎ bye"$/,
      ),
    });
  });

  it('takes the last match when asked, and the named group `value`', () => {
    const r = parseScores(
      [
        {
          name: 't',
          unit: 's',
          direction: 'lower',
          from: 'stderr',
          regex: 'took (?<value>[0-9.]+)s',
          match: 'last',
        },
      ],
      { stdout: '', stderr: 'took 1.5s\ntook 2.5s\n' },
    );
    expect(r.ok && r.scores[0]!.value).toBe(2.5);
  });
});

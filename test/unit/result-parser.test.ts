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

describe('parseScores: user-benchmark sources', () => {
  const base = { unit: 'u', direction: 'higher' as const, from: 'stdout' };

  it('combines every match with match: all and a reducer', () => {
    const out = { stdout: 't=1\nt=2\nt=6\n', stderr: '' };
    const spec = (reduce: 'mean' | 'median' | 'min' | 'max' | 'sum') =>
      ({ ...base, name: reduce, regex: 't=(\\d+)', match: 'all', reduce }) as const;
    const r = parseScores(
      ['mean', 'median', 'min', 'max', 'sum'].map((x) => spec(x as 'mean')),
      out,
    );
    expect(r.ok && r.scores.map((s) => [s.name, s.value])).toEqual([
      ['mean', 3],
      ['median', 2],
      ['min', 1],
      ['max', 6],
      ['sum', 9],
    ]);
  });

  it('reads the last value of @benchyard metric lines, ignoring other metrics', () => {
    const stdout =
      '@benchyard metric=rps value=10\nnoise\n@benchyard metric=lat value=3 unit=ms\n@benchyard metric=rps value=12.5 unit=req/s\n';
    const r = parseScores([{ ...base, name: 'rps', metric: 'rps' }], { stdout, stderr: '' });
    expect(r.ok && r.scores[0]!.value).toBe(12.5);
  });

  it('reads JSON from a file the container wrote, and says when it did not write it', () => {
    const spec = { ...base, name: 'p99', json: "$.latency['p99']", from: '/out/r.json' };
    const files = new Map([['/out/r.json', '{"latency": {"p99": 4.5}}']]);
    const ok = parseScores([spec], { stdout: '', stderr: '', files });
    expect(ok.ok && ok.scores[0]!.value).toBe(4.5);
    const missing = parseScores([spec], { stdout: 'done', stderr: '', files: new Map() });
    expect(missing).toEqual({
      ok: false,
      reason: expect.stringMatching(/p99 \(json .* on \/out\/r\.json, which the container did not write\)/),
    });
  });

  it('passes with no scores declared: the exit code alone decides', () => {
    expect(parseScores([], { stdout: '', stderr: '' })).toEqual({ ok: true, scores: [] });
  });
});

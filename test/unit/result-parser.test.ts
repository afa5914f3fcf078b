// Outputs recorded from the real tools: test/fixtures/outputs/SOURCE.md
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseScores } from '../../src/engine/index.js';
import { builtinCatalog, FIXTURES } from '../helpers/catalog.js';

const out = (name: string) => readFileSync(path.join(FIXTURES, 'outputs', name), 'utf8');
const scoresOf = async (benchmark: string) => (await builtinCatalog()).get(benchmark)!.scores;

describe('parseScores against recorded tool output', () => {
  it('sysbench cpu: events/s and latency', async () => {
    const r = await parseScores(await scoresOf('sysbench-cpu'), {
      stdout: out('sysbench-cpu.txt'),
      stderr: '',
    });
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
    const r = await parseScores(await scoresOf('sysbench-memory'), {
      stdout: out('sysbench-memory.txt'),
      stderr: '',
    });
    expect(r.ok && r.scores.map((s) => [s.name, s.value])).toEqual([
      ['bandwidth', 4555.4],
      ['operations_per_second', 4664727.62],
    ]);
  });

  it('fio JSON: iops, bandwidth, latency percentiles scaled ns → us', async () => {
    const r = await parseScores(await scoresOf('fio'), { stdout: out('fio-randread.json'), stderr: '' });
    const json = JSON.parse(out('fio-randread.json')).jobs[0].read;
    expect(r.ok).toBe(true);
    const s = r.ok ? Object.fromEntries(r.scores.map((x) => [x.name, x.value])) : {};
    expect(s.iops).toBe(json.iops);
    expect(s.bandwidth).toBe(json.bw);
    expect(s.latency_p99).toBeCloseTo(json.clat_ns.percentile['99.000000'] / 1000, 6);
    expect(s.latency_mean).toBeGreaterThan(0);
  });

  it('tolerates tool chatter before the JSON document', async () => {
    const r = await parseScores(await scoresOf('fio'), {
      stdout: `note: something\n${out('fio-randread.json')}`,
      stderr: '',
    });
    expect(r.ok).toBe(true);
  });

  it('fails naming the missing score and showing the tail of the output', async () => {
    const r = await parseScores(await scoresOf('sysbench-cpu'), { stdout: 'segfault\nbye\n', stderr: '' });
    expect(r).toEqual({
      ok: false,
      reason: expect.stringMatching(
        /^score not found: events_per_second \(regex .*\); .*output ends with: "segfault ⏎ bye"$/,
      ),
    });
  });

  it('takes the last match when asked, and the named group `value`', async () => {
    const r = await parseScores(
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

  it('combines every match with match: all and a reducer', async () => {
    const out = { stdout: 't=1\nt=2\nt=6\n', stderr: '' };
    const spec = (reduce: 'mean' | 'median' | 'min' | 'max' | 'sum') =>
      ({ ...base, name: reduce, regex: 't=(\\d+)', match: 'all', reduce }) as const;
    const r = await parseScores(
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

  it('reads the last value of @benchyard metric lines, ignoring other metrics', async () => {
    const stdout =
      '@benchyard metric=rps value=10\nnoise\n@benchyard metric=lat value=3 unit=ms\n@benchyard metric=rps value=12.5 unit=req/s\n';
    const r = await parseScores([{ ...base, name: 'rps', metric: 'rps' }], { stdout, stderr: '' });
    expect(r.ok && r.scores[0]!.value).toBe(12.5);
  });

  it('reads JSON from a file the container wrote, and says when it did not write it', async () => {
    const spec = { ...base, name: 'p99', json: "$.latency['p99']", from: '/out/r.json' };
    const files = new Map([['/out/r.json', '{"latency": {"p99": 4.5}}']]);
    const ok = await parseScores([spec], { stdout: '', stderr: '', files });
    expect(ok.ok && ok.scores[0]!.value).toBe(4.5);
    const missing = await parseScores([spec], { stdout: 'done', stderr: '', files: new Map() });
    expect(missing).toEqual({
      ok: false,
      reason: expect.stringMatching(/p99 \(json .* on \/out\/r\.json, which the container did not write\)/),
    });
  });

  it('passes with no scores declared: the exit code alone decides', async () => {
    expect(await parseScores([], { stdout: '', stderr: '' })).toEqual({ ok: true, scores: [] });
  });
});

describe('parseScores on hostile definitions and output', () => {
  const base = { unit: 'u', direction: 'higher' as const, from: 'stdout' };
  const evil = `${'a'.repeat(40)}!\n`;

  it('runs a pattern RE2 takes in linear time: ^(a+)+$ fails at once, the score named', async () => {
    const t0 = Date.now();
    const r = await parseScores([{ ...base, name: 'nested', regex: '^(a+)+$' }], {
      stdout: evil,
      stderr: '',
    });
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(r).toEqual({ ok: false, reason: expect.stringMatching(/^score not found: nested \(regex/) });
  });

  it('stops a backtracking pattern at the deadline, names its score, and keeps the event loop turning', async () => {
    // The lookahead is JavaScript syntax RE2 lacks: this one runs on the backtracking engine.
    const spec = { ...base, name: 'hang', regex: '^(?=a)(a+)+$' };
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 20);
    const t0 = Date.now();
    const r = await parseScores(
      [spec, { ...base, name: 'fine', regex: 'v=(\\d)' }],
      { stdout: `${evil}v=3\n`, stderr: '' },
      { deadlineMs: 1500 },
    );
    clearInterval(ticker);
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(1400);
    expect(took).toBeLessThan(5000);
    expect(ticks).toBeGreaterThan(20); // the main thread was free while the worker matched
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toMatch(/hang \(regex .* did not finish within the parse deadline/);
    expect(!r.ok && r.reason).not.toMatch(/fine \(/); // RE2 read it on the main thread meanwhile
  });

  it('cancels a regex in progress when the signal aborts', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 200);
    const t0 = Date.now();
    const r = await parseScores(
      [{ ...base, name: 'hang', regex: '^(?=a)(a+)+$' }],
      { stdout: evil, stderr: '' },
      { deadlineMs: 30_000, signal: ac.signal },
    );
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(!r.ok && r.reason).toMatch(/hang .*cancelled while matching/);
  });

  it("reads the backtracking engine's matches like the linear one's", async () => {
    const r = await parseScores(
      [
        { ...base, name: 'ahead', regex: 'n=(\\d+)(?= ok)', match: 'all', reduce: 'sum' },
        { ...base, name: 'plain', regex: 'n=(\\d+) ok', match: 'all', reduce: 'sum' },
      ],
      { stdout: 'n=1 ok\nn=2 bad\nn=4 ok\n', stderr: '' },
    );
    expect(r.ok && r.scores.map((s) => s.value)).toEqual([5, 5]);
  });

  it('reads a JSON path as data, never as script', async () => {
    const doc = JSON.stringify({ a: { b: 1 }, 'a;b': 2, '..': 3, '(process.exit(7))': 4, x: [5, 6] });
    const read = async (json: string) => {
      const r = await parseScores([{ ...base, name: 's', json }], { stdout: doc, stderr: '' });
      return r.ok ? r.scores[0]!.value : r.reason;
    };
    expect(await read("$['(process.exit(7))']")).toBe(4);
    expect(await read("$['a;b']")).toBe(2);
    expect(await read("$['..']")).toBe(3);
    expect(await read('$.a.b')).toBe(1);
    expect(await read('$.x[1]')).toBe(6);
    expect(await read('$.x')).toBe(5); // an array gives its first element, as before
    expect(await read('$.constructor')).toMatch(/score not found: s \(json \$\.constructor/);
    expect(await read('$[?(@.a)]')).toMatch(/score not found: s .*unexpected/);
  });

  it('takes min and max of many matches (no spread of 10^6 arguments)', async () => {
    const stdout = Array.from({ length: 100_000 }, (_, i) => `t=${i}`).join('\n');
    const r = await parseScores(
      [
        { ...base, name: 'lo', regex: 't=(\\d+)', match: 'all', reduce: 'min' },
        { ...base, name: 'hi', regex: 't=(\\d+)', match: 'all', reduce: 'max' },
      ],
      { stdout, stderr: '' },
    );
    expect(r.ok && r.scores.map((s) => s.value)).toEqual([0, 99_999]);
  });
});

describe('parseScores over any container output (property)', () => {
  const specs = [
    { name: 'r', unit: 'u', direction: 'higher' as const, from: 'stdout', regex: 'v=(-?[\\d.e+]+)' },
    {
      name: 'a',
      unit: 'u',
      direction: 'higher' as const,
      from: 'stdout',
      regex: '(\\d+)',
      match: 'all' as const,
      reduce: 'max' as const,
    },
    { name: 'm', unit: 'u', direction: 'higher' as const, from: 'stderr', metric: 'x' },
    { name: 'j', unit: 'u', direction: 'higher' as const, from: '/out/r.json', json: "$.a['b'][0]" },
  ];
  const chunk = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 60 }),
    fc.constantFrom(
      'v=1e309',
      'v=-0',
      'v=99999999999999999999999',
      '@benchyard metric=x value=1e400',
      '\r',
      '\u0000',
      '\u001b[2J',
    ),
    fc.integer({ min: 1, max: 5000 }).map((n) => 'z'.repeat(n)),
    fc.constantFrom(
      '{"a": {"b": [1e308]}}',
      '{"a": {"b": "12"}}',
      '[[[[[[',
      '{"a": null}',
      `${'['.repeat(5000)}1${']'.repeat(5000)}`,
    ),
  );
  const text = fc.array(chunk, { maxLength: 12 }).map((cs) => cs.join('\n'));

  it('always answers: finite scores, or a failure naming every score it could not read', async () => {
    await fc.assert(
      fc.asyncProperty(text, text, text, async (stdout, stderr, file) => {
        const r = await parseScores(specs, { stdout, stderr, files: new Map([['/out/r.json', file]]) });
        if (r.ok) for (const s of r.scores) expect(Number.isFinite(s.value)).toBe(true);
        else {
          expect(r.reason).toMatch(/^score not found: /);
          // The tail is quoted: no raw control character reaches a terminal.
          expect([...r.reason].filter((c) => c < '\t' || c === '\u001b')).toEqual([]);
        }
      }),
      { numRuns: 300, seed: 15 },
    );
  });
});

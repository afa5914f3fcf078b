import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseJsonPath, readJsonPath, type JsonPathStep } from '../../src/core/index.js';

const steps = (p: string) => {
  const r = parseJsonPath(p);
  if ('error' in r) throw new Error(r.error);
  return r.steps;
};

describe('JSON paths: parsed into steps, walked, never evaluated', () => {
  it('reads the paths the built-in benchmarks and the docs use', () => {
    const fio = { jobs: [{ read: { iops: 5, clat_ns: { percentile: { '99.000000': 7 } } } }] };
    expect(readJsonPath(fio, steps('$.jobs[0].read.iops'))).toBe(5);
    expect(readJsonPath(fio, steps("$.jobs[0].read.clat_ns.percentile['99.000000']"))).toBe(7);
    expect(readJsonPath({ a: { 'b.c': [9] } }, steps("$.a['b.c'][0]"))).toBe(9);
    expect(readJsonPath({ ratio: 0.6 }, steps('$.ratio'))).toBe(0.6);
  });

  it('takes script, separators and recursion markers as plain keys', () => {
    expect(steps("$['(process.exit(7))']")).toEqual([{ key: '(process.exit(7))' }]);
    expect(steps("$['a;b']")).toEqual([{ key: 'a;b' }]);
    expect(steps("$['..']")).toEqual([{ key: '..' }]);
    expect(steps('$["@.x"]')).toEqual([{ key: '@.x' }]);
  });

  it('refuses filters, wildcards, recursion and slices, saying where', () => {
    for (const p of ['$..a', '$.*', '$[?(@.a)]', '$[0:2]', '$[-1]', 'a.b', '$.', "$['a'", '$[01]'])
      expect(parseJsonPath(p), p).toMatchObject({ error: expect.any(String) });
    expect(parseJsonPath('$.a..b')).toEqual({ error: expect.stringMatching(/at character 4/) });
  });

  it('reads own keys only, and indexes only arrays', () => {
    expect(readJsonPath({}, steps('$.constructor'))).toBeUndefined();
    expect(readJsonPath(JSON.parse('{"__proto__": {"x": 1}}'), steps("$['__proto__'].x"))).toBe(1);
    expect(readJsonPath({ 0: 'x' }, steps('$[0]'))).toBeUndefined();
    expect(readJsonPath([1], steps('$.length'))).toBeUndefined();
    expect(readJsonPath('text', steps('$.length'))).toBeUndefined();
  });

  it('never throws on any string, and parses back the steps it was built from', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (p) => {
        const r = parseJsonPath(p);
        if ('steps' in r) expect(readJsonPath({ a: [1] }, r.steps)).not.toBeNaN();
      }),
      { numRuns: 2000, seed: 15 },
    );
    const step: fc.Arbitrary<JsonPathStep> = fc.oneof(
      fc.nat({ max: 1e9 }).map((index) => ({ index })),
      fc.string({ unit: 'binary', maxLength: 12 }).map((key) => ({ key })),
    );
    const write = (s: JsonPathStep) =>
      'index' in s
        ? `[${s.index}]`
        : /^[A-Za-z_][A-Za-z0-9_-]*$/.test(s.key)
          ? `.${s.key}`
          : s.key.includes("'")
            ? `["${s.key}"]`
            : `['${s.key}']`;
    fc.assert(
      fc.property(
        fc
          .array(step, { maxLength: 8 })
          .filter((ss) => ss.every((s) => 'index' in s || !(s.key.includes("'") && s.key.includes('"')))),
        (ss) => {
          expect(parseJsonPath(`$${ss.map(write).join('')}`)).toEqual({ steps: ss });
        },
      ),
      { numRuns: 1000, seed: 15 },
    );
  });
});

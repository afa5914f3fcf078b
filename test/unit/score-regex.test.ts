import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backtrackingRisk, planRegex, regexValues } from '../../src/engine/index.js';

describe('which engine a score regex runs on', () => {
  it('takes RE2 wherever its syntax allows, named groups in either spelling included', () => {
    for (const p of [
      '^(a+)+$',
      'events per second:\\s+([\\d.]+)',
      '(?<value>\\d+)',
      '(?P<value>\\d+)',
      '\\bx\\b',
    ])
      expect(planRegex(p)).toEqual({ engine: 're2' });
  });

  it('falls back to the backtracking engine for lookaround, backreferences and \\u escapes', () => {
    for (const p of ['n=(\\d+)(?= ok)', '(?<=n=)\\d+', '(a)\\1', 'caf\\u00e9 (\\d+)'])
      expect(planRegex(p)).toMatchObject({ engine: 'backtracking' });
  });

  it('refuses what neither engine takes', () => {
    expect(planRegex('([0-9+')).toMatchObject({ error: expect.any(String) });
  });

  it('flags nested unbounded quantifiers on the backtracking engine, and only those', () => {
    const risky = [
      '^(?=a)(a+)+$',
      '(?=x)(\\w+\\s?)*$',
      '(?=x)(?:a*){2,}',
      '(?=x)((ab)+c)*',
      '(?=x)(a{1,}b?)+',
    ];
    for (const p of risky)
      expect(planRegex(p), p).toMatchObject({ risk: expect.stringMatching(/repeats an unbounded/) });
    const fine = [
      'n=(\\d+)(?= ok)',
      '(?=x)(ab)+',
      '(?=x)(a+)?',
      '(?=x)([+*]{1})+',
      '(?=x)(a\\+)+',
      '(?=x)(a{2})+',
    ];
    for (const p of fine) expect(backtrackingRisk(p), p).toBeUndefined();
  });
});

describe('regexValues', () => {
  it('gives the named group value, else the first group, else the whole match', () => {
    expect(regexValues('v=(?<value>\\d+) (\\d+)', 're2', 'v=1 2')).toEqual(['1']);
    expect(regexValues('v=(\\d+)', 're2', 'v=1\nv=2')).toEqual(['1', '2']);
    expect(regexValues('\\d+', 'backtracking', 'a1b22')).toEqual(['1', '22']);
  });

  it('ends lines at \\r as JavaScript does (progress bars), unless the pattern says \\r itself', () => {
    expect(regexValues('^done (\\d+)$', 're2', '10%\r50%\rdone 7\r\n')).toEqual(['7']);
    expect(regexValues('^done (\\d+)$', 'backtracking', '10%\r50%\rdone 7\r\n')).toEqual(['7']);
    expect(regexValues('(\\d+)\\r', 're2', 'x 7\r\n')).toEqual(['7']);
  });

  it('agrees with JavaScript on the patterns scores are written with, over any output', () => {
    const patterns = [
      'events per second:\\s+([\\d.]+)',
      '^(\\w+)=(?<value>-?\\d+(?:\\.\\d+)?)$',
      'took ([0-9.]+)s',
      '(\\d+)\\s*ms',
      '^\\s*avg:\\s+(\\S+)',
      '[Tt]otal (?:time|ops):? (\\d+)',
    ];
    const line = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.constantFrom(
        'events per second:   6258.18',
        'x=-3.5',
        'took 1.5s',
        '12 ms',
        '  avg:  0.32',
        'Total ops: 9',
      ),
    );
    fc.assert(
      fc.property(fc.constantFrom(...patterns), fc.array(line, { maxLength: 20 }), (p, lines) => {
        const text = lines.join('\n');
        expect(regexValues(p, 're2', text)).toEqual(regexValues(p, 'backtracking', text));
      }),
      { numRuns: 500, seed: 15 },
    );
  });
});

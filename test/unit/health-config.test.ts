/** The matrix's `health:` block: defaults, shares as numbers or percentages, `false`, and what is refused. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_HEALTH_POLICY } from '../../src/core/index.js';
import { MapCatalog, matrixJsonSchema, validateMatrix, YamlSource } from '../../src/config/index.js';
import { planMatrix } from '../../src/plan/index.js';

const catalog = new MapCatalog([]);
const matrix = (health: string) =>
  validateMatrix(
    YamlSource.parse(
      'm.yaml',
      `name: h
${health}
targets: [{ name: here, provider: local }]
benchmarks:
  - benchmark:
      name: b
      image: x/b:1
      command: [b]
      scores: [{ name: s, unit: x, direction: higher, from: stdout, regex: 's (?<value>\\d+)' }]
`,
    ),
    catalog,
  );

describe('matrix health: block', () => {
  it('absent: every default, carried by the plan', () => {
    const m = matrix('');
    expect(m.health).toEqual(DEFAULT_HEALTH_POLICY);
    expect(planMatrix(m, catalog).health).toEqual(DEFAULT_HEALTH_POLICY);
  });

  it('a block: its keys over the defaults; shares as 0–1 or a percentage', () => {
    const m = matrix(
      'health: { throttledShare: 25%, powerCappedShare: 0.5, xid: 1, xidIgnore: [], eccCorrectable: 100, cpuThrottle: 3 }',
    );
    expect(m.health).toEqual({
      ...DEFAULT_HEALTH_POLICY,
      throttledShare: 0.25,
      powerCappedShare: 0.5,
      xid: 1,
      xidIgnore: [],
      eccCorrectable: 100,
      cpuThrottle: 3,
    });
  });

  it('false switches judging off; true is the defaults', () => {
    expect(matrix('health: false').health.enabled).toBe(false);
    expect(matrix('health: true').health).toEqual(DEFAULT_HEALTH_POLICY);
  });

  it('refuses shares past 100 %, negative counts and unknown keys, naming the line', () => {
    for (const bad of [
      'health: { throttledShare: 150% }',
      'health: { powerCappedShare: 1.5 }',
      'health: { xid: -1 }',
      'health: { retiredPage: 0 }',
    ]) {
      let err: unknown;
      try {
        matrix(bad);
      } catch (e) {
        err = e;
      }
      expect(err, bad).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).message, bad).toMatch(/m\.yaml:2:/);
    }
  });

  it('any percentage from 0 to 100 is the share it says', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000 }), (hundredths) => {
        const pct = (hundredths / 100).toFixed(2);
        expect(matrix(`health: { throttledShare: ${pct}% }`).health.throttledShare).toBeCloseTo(
          Number(pct) / 100,
          10,
        );
      }),
      { numRuns: 50 },
    );
  });

  it('is in the JSON schema editors read', () => {
    const schema = JSON.stringify(matrixJsonSchema());
    expect(schema).toContain('throttledShare');
    expect(schema).toContain('xidIgnore');
  });
});

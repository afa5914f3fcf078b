import { describe, expect, it } from 'vitest';
import { validateMatrix, YamlSource } from '../../src/config/index.js';
import type { RepetitionResult } from '../../src/core/index.js';
import { wantsAnotherRepetition } from '../../src/schedule/adaptive.js';
import { builtinCatalog } from '../helpers/catalog.js';

const rep = (value: number, status: 'passed' | 'failed' = 'passed') =>
  ({
    status,
    scores: status === 'passed' ? [{ name: 'speed', value, unit: 'u', direction: 'higher' }] : [],
  }) as unknown as RepetitionResult;
const policy = { maxCovPct: 2.5, maxRepetitions: 6, budgetMs: 60_000 };

describe('adaptive repetitions', () => {
  it('extends while the first score varies more than the target CoV', () => {
    expect(wantsAnotherRepetition(policy, [rep(100), rep(120), rep(90)], 1000)).toBe(true);
    expect(wantsAnotherRepetition(policy, [rep(100), rep(101), rep(100.5)], 1000)).toBe(false);
  });

  it('leaves suspect repetitions out of the variation, not out of the count', () => {
    const suspect = { ...rep(300), suspect: ['GPU 0 power-capped 40 % of the time'] } as RepetitionResult;
    expect(wantsAnotherRepetition(policy, [rep(100), suspect, rep(101), rep(100.5)], 1000)).toBe(false);
    expect(wantsAnotherRepetition(policy, [rep(100), rep(300), rep(101), rep(100.5)], 1000)).toBe(true);
    const six = [suspect, suspect, suspect, suspect, suspect, suspect];
    expect(wantsAnotherRepetition(policy, six, 1000)).toBe(false);
  });

  it('stops at the count cap, past the time budget, on a failure, or without a policy', () => {
    const noisy = [rep(100), rep(120), rep(90), rep(130), rep(80), rep(110)];
    expect(wantsAnotherRepetition(policy, noisy, 1000)).toBe(false);
    expect(wantsAnotherRepetition(policy, noisy.slice(0, 3), 60_000)).toBe(false);
    expect(wantsAnotherRepetition(policy, [rep(100), rep(0, 'failed'), rep(90)], 1000)).toBe(false);
    expect(wantsAnotherRepetition(undefined, noisy.slice(0, 3), 1000)).toBe(false);
  });

  it('is configured per matrix or entry: `adaptive: true` takes the defaults', async () => {
    const catalog = await builtinCatalog();
    const m = validateMatrix(
      YamlSource.parse(
        'm.yaml',
        `name: a
adaptive: true
targets: [{ name: h, provider: local }]
benchmarks:
  - benchmark: fio
  - benchmark: sysbench-cpu
    adaptive: { cov: 1%, max: 20, budget: 2m }
`,
      ),
      catalog,
    );
    expect(m.adaptive).toEqual({ maxCovPct: 2.5, maxRepetitions: 10, budgetMs: 600_000 });
    expect(m.entries[1]!.adaptive).toEqual({ maxCovPct: 1, maxRepetitions: 20, budgetMs: 120_000 });
  });
});

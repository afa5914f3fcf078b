/**
 * `primary:` from the matrix to the verdict: a benchmark or a matrix entry names the score
 * comparisons decide on; the plan puts it first, so results carry it first and `compare`
 * tests it alone at α, the other scores Bonferroni-corrected among themselves.
 */
import { describe, expect, it } from 'vitest';
import { compare } from '../../src/analysis/index.js';
import { configProblems, planText } from '../helpers/catalog.js';
import { repetitionResult } from '../helpers/results.js';

const matrix = (entry: string, inline = '') => `name: p
targets: [{ name: here, provider: local }]
benchmarks:
  - benchmark: ${inline || 'sysbench-cpu'}
${entry}`;

const INLINE = `
      name: toy
      image: benchyard/bench-tools:1
      command: [echo]
      primary: lat
      scores:
        - { name: speed, unit: op/s, direction: higher, regex: 'speed: ([0-9.]+)' }
        - { name: lat, unit: ms, direction: lower, regex: 'lat: ([0-9.]+)' }`;

describe('primary score', () => {
  it("defaults to the benchmark's first score", async () => {
    const plan = await planText(matrix(''));
    expect(plan.cells[0]!.scores.map((s) => s.name)).toEqual([
      'events_per_second',
      'latency_avg',
      'latency_p95',
    ]);
  });

  it('a matrix entry names another: the plan puts it first', async () => {
    const plan = await planText(matrix('    primary: latency_p95\n'));
    expect(plan.cells[0]!.scores.map((s) => s.name)).toEqual([
      'latency_p95',
      'events_per_second',
      'latency_avg',
    ]);
  });

  it('a benchmark definition names one (inline here, benchmark.yaml alike)', async () => {
    const plan = await planText(matrix('', INLINE));
    expect(plan.cells[0]!.scores.map((s) => s.name)).toEqual(['lat', 'speed']);
  });

  it('refuses a name that is not a score, where it is written', async () => {
    const entry = await configProblems(matrix('    primary: events\n'));
    expect(entry.join('\n')).toMatch(
      /m\.yaml:\d+:\d+: .*primary 'events' is not a score of benchmark 'sysbench-cpu' \(scores: events_per_second, latency_avg, latency_p95\)/,
    );
    const inline = await configProblems(matrix('', INLINE.replace('primary: lat', 'primary: latency')));
    expect(inline.join('\n')).toMatch(/primary must name one of the benchmark's scores/);
  });

  it("results in the plan's order make compare test the primary alone", () => {
    // What a run stores for the entry above: its scores in the plan's order.
    const rs = (target: string, lat: number) =>
      [0, 1, 2, 3, 4].map((i) =>
        repetitionResult({
          target,
          repetition: i + 1,
          scores: [
            { name: 'lat', value: lat + i / 10, unit: 'ms', direction: 'lower' },
            { name: 'speed', value: 100 + i, unit: 'op/s', direction: 'higher' },
          ],
        }),
      );
    const c = compare([...rs('a', 10), ...rs('b', 12)], { by: 'target' });
    expect(c.families[0]).toMatchObject({ primary: 'lat', secondary: ['speed'] });
    expect(c.rows[0]).toMatchObject({ score: 'lat', role: 'primary' });
    expect(c.rows[0]!.groups[1]!.verdict).toBe('worse');
  });
});

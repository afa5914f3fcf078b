/**
 * Energy in `compare`: joules per repetition and score per joule (or joules per result)
 * compared like the scores, against hand-computed intervals; groups without energy.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compare, figureOf, type EnergyRow } from '../../src/analysis/index.js';
import type { EnergySummary, RepetitionResult } from '../../src/core/index.js';
import {
  buildReportModel,
  compareCells,
  compareFooter,
  compareJunit,
  renderComparison,
} from '../../src/report/index.js';
import { repetitionResult } from '../helpers/results.js';

const NO_RAPL = 'no RAPL domain readable: permission denied';

/** A repetition of cell `threads=1` on target `group`, 2 s long, with `joules` measured (or why not). */
function rep(
  group: string,
  i: number,
  speed: number,
  joules: number | string,
  extra: Partial<RepetitionResult> = {},
) {
  const energy: EnergySummary | undefined =
    typeof joules === 'number'
      ? { joules, cpuJoules: joules, sources: { 'rapl:package-0': joules } }
      : undefined;
  return repetitionResult({
    cellId: `cell-${group}`,
    repetition: i,
    benchmark: 'toy',
    params: { threads: 1 },
    target: group,
    machineId: `m-${group}`,
    durationMs: 2000,
    scores: [
      { name: 'speed', value: speed, unit: 'op/s', direction: 'higher' },
      { name: 'lat', value: 1000 / speed, unit: 'ms', direction: 'lower' },
      { name: 'errors', value: 0, unit: 'errors', direction: 'lower' },
    ],
    metrics: {
      samples: 0,
      ...(energy ? { energy } : { energyMissing: joules as string }),
    },
    ...extra,
  });
}

const A = [10, 20, 30, 40, 50].map((j, i) => rep('a', i + 1, 100, j));
/** Ten times a's joules at twice its speed: 0.2 times its work per joule. */
const B = [100, 200, 300, 400, 500].map((j, i) => rep('b', i + 1, 200, j));
const C = [1, 2, 3, 4, 5].map((i) => rep('c', i, 150, NO_RAPL));

function energyRow(rows: readonly EnergyRow[], score: string): EnergyRow {
  const row = rows.find((r) => r.score === score);
  if (!row) throw new Error(`no energy row '${score}' among ${rows.map((r) => r.score).join(', ')}`);
  return row;
}

describe('joules per repetition', () => {
  it('is compared like a score: Hodges-Lehmann Δ and the inverted Mann-Whitney interval, by hand', () => {
    const c = compare([...A, ...B], { by: 'target' });
    const joules = energyRow(c.energy!.rows, 'joules per repetition');
    expect(joules).toMatchObject({ unit: 'J', direction: 'lower', energy: 'joules', alpha: 0.05 });
    const [a, b] = joules.groups;
    expect(a).toMatchObject({ group: 'a', n: 5, median: 30, verdict: 'baseline' });
    // The 25 ratios b_i / a_j are 10·i/j (i, j = 1..5): their median is 10 (Δ +900 %). For 5
    // against 5 at α 0.05 (two-sided) the critical U is 2 (P(U ≤ 2) = 4/252 per side), so the
    // interval runs from the 3rd smallest ratio (i/j = 1/5, 1/4, then 1/3) to the 3rd largest
    // (5, 4, then 3): [10/3, 30], i.e. [+233.33 %, +2900 %]. Every ratio is above 1: p = 2/252.
    expect(b).toMatchObject({ group: 'b', n: 5, median: 300, method: 'exact', verdict: 'worse' });
    expect(b!.diffPct).toBeCloseTo(900, 9);
    expect(b!.ci!.low).toBeCloseTo(100 * (10 / 3 - 1), 9);
    expect(b!.ci!.high).toBeCloseTo(2900, 9);
    expect(b!.p).toBeCloseTo(2 / 252, 12);
  });

  it('says no significant difference when the interval includes 0 (twice the joules: [−33.33 %, +500 %])', () => {
    const twice = [20, 40, 60, 80, 100].map((j, i) => rep('b', i + 1, 100, j));
    const b = energyRow(compare([...A, ...twice], { by: 'target' }).energy!.rows, 'joules per repetition')
      .groups[1]!;
    expect(b.diffPct).toBeCloseTo(100, 9);
    expect(b.ci!.low).toBeCloseTo(100 * (2 / 3 - 1), 9);
    expect(b.ci!.high).toBeCloseTo(500, 9);
    expect(b.verdict).toBe('no significant difference');
  });
});

describe('score per joule', () => {
  it('divides a higher-is-better score by the mean power, per repetition, and compares it with its CI', () => {
    const c = compare([...A, ...B], { by: 'target' });
    const perJoule = energyRow(c.energy!.rows, 'speed per joule');
    expect(perJoule).toMatchObject({ unit: 'op/J', direction: 'higher', of: 'speed', energy: 'per-joule' });
    // a: 100 op/s at 10..50 J over 2 s (5..25 W) → 20, 10, 6.67, 5, 4 op/J.
    expect(perJoule.groups[0]!.values).toEqual([20, 10, 100 / 15, 5, 4]);
    // b ÷ a per pair: (200 · 2 / (100 j)) ÷ (100 · 2 / (10 i)) = 0.2 · i/j → median 0.2 (−80 %),
    // interval [0.2/3, 0.6] → [−93.33 %, −40 %]: less work per joule, so worse.
    const b = perJoule.groups[1]!;
    expect(b.diffPct).toBeCloseTo(-80, 9);
    expect(b.ci!.low).toBeCloseTo(100 * (0.2 / 3 - 1), 9);
    expect(b.ci!.high).toBeCloseTo(-40, 9);
    expect(b.verdict).toBe('worse');
    // A secondary score's figure is tested at its score's level (Bonferroni over lat and errors).
    expect(energyRow(c.energy!.rows, 'lat energy per result')).toMatchObject({
      alpha: 0.025,
      confidence: 0.975,
    });
  });

  it('turns a lower-is-better time score into joules per result and leaves other lower-is-better scores out', () => {
    const c = compare([...A, ...B], { by: 'target' });
    const lat = energyRow(c.energy!.rows, 'lat energy per result');
    // 10 ms × 5..25 W = 50..250 mJ.
    expect(lat).toMatchObject({ unit: 'mJ', direction: 'lower', energy: 'per-result' });
    expect(lat.groups[0]!.values).toEqual([50, 100, 150, 200, 250]);
    expect(c.energy!.rows.map((r) => r.score)).toEqual([
      'joules per repetition',
      'speed per joule',
      'lat energy per result',
    ]);
  });

  it('names the figure from the unit: per joule for a rate, per watt otherwise, joules for times only', () => {
    expect(figureOf('tok', 'tokens/s', 'higher')).toMatchObject({ score: 'tok per joule', unit: 'tokens/J' });
    expect(figureOf('x', 'points', 'higher')).toMatchObject({ score: 'x per watt', unit: 'points/W' });
    expect(figureOf('t', 's', 'lower')!.perRepetition(2, 25)).toBe(50);
    expect(figureOf('t', 'min', 'lower')).toMatchObject({ unit: 'J' });
    expect(figureOf('t', 'min', 'lower')!.perRepetition(2, 25)).toBe(3000);
    expect(figureOf('e', 'errors', 'lower')).toBeUndefined();
    expect(figureOf('r', 'op/s', 'higher')!.perRepetition(100, 25)).toBe(4);
  });

  it('keeps every unit a benchmark may declare: a figure has the score direction, or there is none', () => {
    fc.assert(
      fc.property(fc.string(), fc.constantFrom('higher' as const, 'lower' as const), (unit, direction) => {
        const f = figureOf('s', unit, direction);
        if (direction === 'higher') expect(f?.direction).toBe('higher');
        else expect(f === undefined || f.direction === 'lower').toBe(true);
      }),
    );
  });
});

describe('groups without energy', () => {
  it('have no figures, say why in one line, and leave the scores, families and gate as they were', () => {
    const all = [...A, ...B, ...C];
    const c = compare(all, { by: 'target' });
    for (const row of c.energy!.rows) {
      const g = row.groups.find((x) => x.group === 'c')!;
      expect(g).toMatchObject({ n: 0, values: [] });
      expect(g.diffPct).toBeUndefined();
      expect(g.verdict).toBeUndefined();
    }
    expect(c.energy!.missing).toEqual([{ group: 'c', measured: 0, of: 5, reasons: [NO_RAPL] }]);
    expect(compareFooter(c)).toContain(`energy n/a for c: ${NO_RAPL}`);
    // No made-up numbers: c's energy cells in the table are empty.
    const cRows = compareCells(c).filter((r) => r[1]!.endsWith('; energy)') && r[2] === 'c');
    expect(cRows).toHaveLength(3);
    for (const r of cRows) expect(r.slice(3, 10)).toEqual(['0', '', '', '', '', '', '']);

    const withoutEnergy = compare(
      all.map((r) => ({ ...r, metrics: { samples: 0 } })),
      { by: 'target' },
    );
    expect(withoutEnergy.energy).toBeUndefined();
    expect(c.rows).toEqual(withoutEnergy.rows);
    expect(c.families).toEqual(withoutEnergy.families);
    expect(compareCells(withoutEnergy)).toHaveLength(9);
  });

  it('a baseline without energy gives its contenders figures but no Δ', () => {
    const c = compare([...C, ...A], { by: 'target', baseline: 'c' });
    const joules = energyRow(c.energy!.rows, 'joules per repetition');
    expect(joules.groups.map((g) => [g.group, g.n, g.verdict])).toEqual([
      ['c', 0, undefined],
      ['a', 5, undefined],
    ]);
    expect(joules.groups[1]!.ci).toBeUndefined();
  });

  it('nothing measured anywhere: no rows, one line with the reasons', () => {
    const c = compare(C, { by: 'param:threads' });
    expect(c.energy).toMatchObject({ rows: [] });
    expect(compareFooter(c).filter((l) => l.startsWith('energy'))).toEqual([`energy n/a: ${NO_RAPL}`]);
  });

  it('partly measured groups say on how many repetitions their figures rest', () => {
    const c = compare([...A, ...B.slice(0, 3), rep('b', 4, 200, NO_RAPL), rep('b', 5, 200, NO_RAPL)], {
      by: 'target',
    });
    expect(energyRow(c.energy!.rows, 'joules per repetition').groups[1]!.n).toBe(3);
    expect(compareFooter(c)).toContain(`energy of b from 3 of 5 repetitions (the others: ${NO_RAPL})`);
  });
});

describe('energy warnings', () => {
  it('says when repetitions on one machine overlapped (energy is machine-wide) and when sources differ', () => {
    const at = (s: number) => new Date(Date.UTC(2026, 11, 5, 0, 0, s)).toISOString();
    const overlapping = A.map((r, i) => ({ ...r, startedAt: at(i), finishedAt: at(i + 2) }));
    const gpuOnly = B.map((r) => ({
      ...r,
      metrics: {
        samples: 0,
        energy: { joules: r.metrics.energy!.joules, gpuJoules: 1, sources: { 'gpu:0': 1 } },
      },
    }));
    const w = compare([...overlapping, ...gpuOnly], { by: 'target' }).energy!.warnings;
    expect(w).toEqual([
      'energy: groups measured different sources (a: CPU; b: GPU), so their joules are not comparable',
      expect.stringMatching(/^energy: 4 repetitions on r\/m-a started while another was running/),
    ]);
  });
});

describe('energy in every output', () => {
  const c = compare([...A, ...B, ...C], { by: 'target' });

  it('the table puts each cell energy rows after its scores; JSON and Markdown carry them', () => {
    const scores = compareCells(c).map((r) => r[1]!);
    expect(scores.slice(9, 12)).toEqual([
      'joules per repetition (J, lower is better; energy)',
      'joules per repetition (J, lower is better; energy)',
      'joules per repetition (J, lower is better; energy)',
    ]);
    expect(scores).toContain('speed per joule (op/J, higher is better; energy)');
    const json = JSON.parse(renderComparison(c, 'json'));
    expect(json.energy.rows).toHaveLength(3);
    const md = renderComparison(c, 'markdown');
    expect(md).toMatch(
      /\| toy threads=1 \| speed per joule \(op\/J, higher is better; energy\) \| b \| 5 \| 1\.33 \|.*\| \[-93\.33, -40\.00\] 95% \|.*\| worse \|/,
    );
  });

  it('JUnit: energy testcases carry the figures and never fail, even past the regression threshold', () => {
    const xml = compareJunit(c, 0, '2026-12-05T00:00:00.000Z');
    expect(xml).toContain('classname="compare.energy.toy"');
    expect(xml).toMatch(/name="toy threads=1 speed per joule: b vs a"/);
    expect(xml).not.toMatch(/REGRESSION[^"]*speed per joule/);
    expect(xml).not.toContain('no passed result in c');
  });

  it('the report model has energy pictures and each cell median joules', () => {
    const m = buildReportModel({
      runs: [],
      results: [...A, ...B, ...C],
      samples: [],
      comparison: c,
      generatedAt: '2026-12-05T00:00:00.000Z',
    });
    expect(m.energy!.charts.map((x) => x.score)).toEqual([
      'joules per repetition',
      'speed per joule',
      'lat energy per result',
    ]);
    expect(m.energy!.head.at(-1)).toBe('verdict');
    expect(m.energy!.notes).toContain(`energy n/a for c: ${NO_RAPL}`);
  });
});

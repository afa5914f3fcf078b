/**
 * Suspect repetitions as an analyst sees them: a stored run (seeded through SqliteStore:
 * this machine has no GPU to throttle) where one repetition ran on a power-capped GPU.
 * `results` marks it with its reason, `compare` leaves it out and says so, and
 * `--include-suspect` puts it back; the HTML report says how many were left out.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RepetitionResult } from '../../src/core/index.js';
import { cli } from '../helpers/cli.js';
import { repetitionResult } from '../helpers/results.js';
import { seededCell, seedRun, seedTime } from '../helpers/seeded-run.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'by-suspect-'));
const state = path.join(work, 'state');
const RUN = 'r-suspect';
const WHY = ['GPU 0 power-capped 38 % of the time', 'GPU 0: 1 new retired page (double-bit ECC)'];

/** Target b's third repetition ran power-capped at a tenth of the speed. */
function result(target: string, i: number): RepetitionResult {
  const suspect = target === 'b' && i === 3;
  return repetitionResult({
    runId: RUN,
    cellId: `cell-${target}`,
    repetition: i,
    benchmark: 'gpu-burn',
    target,
    machineId: `local:${target}`,
    startedAt: seedTime((i * 2 + (target === 'a' ? 0 : 1)) * 1000),
    durationMs: 1000,
    scores: [{ name: 'gflops', value: suspect ? 100 : 1000 + i, unit: 'GFLOP/s', direction: 'higher' }],
    ...(suspect ? { suspect: WHY } : {}),
  });
}

beforeAll(async () => {
  const cells = ['a', 'b'].map((target, index) =>
    seededCell({ id: `cell-${target}`, index, benchmark: 'gpu-burn', target }),
  );
  const results = ['a', 'b'].flatMap((target) => [1, 2, 3, 4, 5].map((i) => result(target, i)));
  await seedRun(state, { id: RUN, name: 'suspect-e2e' }, cells, results);
}, 60_000);

describe('suspect repetitions in results, compare and report', () => {
  it('results shows the suspect repetition with its reasons; --json has them', async () => {
    const table = await cli(['results', '--run', RUN, '--state', state, '--wide'], { cwd: work });
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/│ cell-b +│ 3 +│.*│ passed SUSPECT +│ gflops 100(\.0)? GFLOP\/s/);
    expect(table.stdout).toContain('suspect: GPU 0 power-capped 38 % of the time');
    const json = await cli(['results', '--run', RUN, '--state', state, '--json'], { cwd: work });
    const stored = JSON.parse(json.stdout).results as RepetitionResult[];
    expect(stored.filter((r) => r.suspect).map((r) => [r.cellId, r.repetition, r.suspect])).toEqual([
      ['cell-b', 3, WHY],
    ]);
  });

  it('compare leaves it out and says so; --include-suspect puts it back', async () => {
    const args = ['compare', '--run', RUN, '--by', 'target', '--state', state, '--format', 'json'];
    const without = await cli(args, { cwd: work });
    expect(without.code, without.stderr).toBe(0);
    const c = JSON.parse(without.stdout);
    expect(c.rows[0].groups.map((g: { group: string; n: number }) => [g.group, g.n])).toEqual([
      ['a', 5],
      ['b', 4],
    ]);
    expect(c.warnings).toContainEqual(expect.stringMatching(/^1 suspect repetition left out/));

    const withIt = await cli([...args, '--include-suspect'], { cwd: work });
    expect(withIt.code, withIt.stderr).toBe(0);
    const d = JSON.parse(withIt.stdout);
    expect(d.rows[0].groups.find((g: { group: string }) => g.group === 'b')).toMatchObject({ n: 5 });
    expect(d.rows[0].groups.find((g: { group: string }) => g.group === 'b').values).toContain(100);

    const table = await cli(args.slice(0, -2).concat('--wide'), { cwd: work });
    expect(table.stdout + table.stderr).toMatch(/1 suspect repetition left out/);
  });

  it('report --html says how many were left out', async () => {
    const out = path.join(work, 'r.html');
    const r = await cli(['report', '--run', RUN, '--state', state, '--html', out], { cwd: work });
    expect(r.code, r.stderr).toBe(0);
    const html = readFileSync(out, 'utf8');
    expect(html).toContain('1 suspect repetition left out');
    // The results section lists each suspect repetition with its reasons.
    expect(html).toMatch(/"suspectReasons":\["#\d+ GPU 0 power-capped 38 % of the time[^"]*"\]/);
  });
});

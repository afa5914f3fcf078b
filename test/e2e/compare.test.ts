import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'by-cmp-'));

describe('benchyard compare on a real run', () => {
  it('compares two configurations of one benchmark by a param, in every format', async () => {
    // A user benchmark whose speed depends on `level` (plus noise), so the verdict is known.
    writeFileSync(
      path.join(work, 'm.yaml'),
      `name: cmp
repetitions: 5
targets: [{ name: here, provider: local }]
benchmarks:
  - benchmark:
      name: toy
      image: benchyard/bench-tools:1
      network: none
      command: ["awk", "-v", "level={{level}}", 'BEGIN { srand(); printf "speed: %.3f\\\\nlat: %.3f\\\\n", level * 100 + rand(), 10 / level + rand() / 100 }']
      params: { level: { type: integer, default: 1, min: 1, max: 10 } }
      scores:
        - { name: speed, unit: op/s, direction: higher, regex: 'speed: ([0-9.]+)' }
        - { name: lat, unit: ms, direction: lower, regex: 'lat: ([0-9.]+)' }
    params: { level: [1, 2] }
`,
    );
    const run = await cli(['run', 'm.yaml'], { cwd: work });
    expect(run.code, run.stderr).toBe(0);

    const json = await cli(['compare', '--by', 'param:level', '--format', 'json'], { cwd: work });
    expect(json.code, json.stderr).toBe(0);
    const c = JSON.parse(json.stdout);
    expect(c.baseline).toBe('1');
    const speed = c.rows.find((r: { score: string }) => r.score === 'speed');
    expect(speed.groups[1]).toMatchObject({ group: '2', n: 5, verdict: 'better' });
    expect(speed.groups[1].diffPct).toBeGreaterThan(95);
    expect(speed.groups[1].pAdjusted).toBeLessThan(0.05);
    expect(c.rows.find((r: { score: string }) => r.score === 'lat').groups[1].verdict).toBe('better');
    expect(c.geomean[0].ratio).toBeGreaterThan(1.9);

    const csv = await cli(['compare', '--by', 'param:level', '--format', 'csv'], { cwd: work });
    const lines = csv.stdout.trim().split('\n');
    expect(lines[0]).toBe('cell,score,group,n,median,p95,CoV %,Δ % vs baseline,95% CI,p (Holm),verdict');
    expect(lines).toHaveLength(5);
    expect(lines.filter((l) => l.endsWith(',better'))).toHaveLength(2);

    const md = await cli(['compare', '--by', 'param:level', '--format', 'markdown', '--baseline', '2'], {
      cwd: work,
    });
    expect(md.stdout).toMatch(/^\| cell \| score \| group \|/);
    expect(md.stdout).toMatch(/\| worse \|/);
    expect(md.stdout).toMatch(/- geomean 1 vs 2: ×0\.\d+/);

    const table = await cli(['compare', '--by', 'param:level'], { cwd: work });
    expect(table.stdout).toMatch(/geomean 2 vs 1: ×/);
  });

  it('rejects an unknown axis or baseline as bad input', async () => {
    const axis = await cli(['compare', '--by', 'colour'], { cwd: work });
    expect(axis.code).toBe(2);
    expect(axis.stderr).toMatch(/--by 'colour': expected one of target, provider/);
    const base = await cli(['compare', '--by', 'param:level', '--baseline', '7'], { cwd: work });
    expect(base.code).toBe(2);
    expect(base.stderr).toMatch(/baseline '7' is not among the groups \(1, 2\)/);
  });
});

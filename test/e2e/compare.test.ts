import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { XMLParser } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';
import { ES_URL } from '../helpers/services.js';

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
    // The verdict is the interval's: every level-2 repetition faster, so the CI excludes 0
    // and p is the smallest 5 vs 5 allows, exactly 2/252 (also when awk's rand(), seeded
    // by the second, repeats a value within a group).
    expect(speed.groups[1].ci.low).toBeGreaterThan(0);
    expect(speed.groups[1]).toMatchObject({ method: 'exact', p: 2 / 252 });
    expect(speed).toMatchObject({ role: 'primary', alpha: 0.05, confidence: 0.95 });
    expect(c.rows.find((r: { score: string }) => r.score === 'lat')).toMatchObject({ role: 'secondary' });
    expect(c.rows.find((r: { score: string }) => r.score === 'lat').groups[1].verdict).toBe('better');
    expect(c.families).toEqual([
      expect.objectContaining({ benchmark: 'toy', primary: 'speed', secondary: ['lat'], alphaPrimary: 0.05 }),
    ]);
    expect(c.geomean[0].ratio).toBeGreaterThan(1.9);
    expect(c.geomean[0].ci.low).toBeLessThanOrEqual(c.geomean[0].ratio);

    const csv = await cli(['compare', '--by', 'param:level', '--format', 'csv'], { cwd: work });
    const lines = csv.stdout.trim().split('\n');
    expect(lines[0]).toBe('cell,score,group,n,median,p95,CoV %,Δ % vs baseline,CI,p (adj.),verdict');
    expect(lines).toHaveLength(5);
    expect(lines.filter((l) => l.endsWith(',better'))).toHaveLength(2);

    const md = await cli(['compare', '--by', 'param:level', '--format', 'markdown', '--baseline', '2'], {
      cwd: work,
    });
    expect(md.stdout).toMatch(/^\| cell \| score \| group \|/);
    expect(md.stdout).toMatch(/\| worse \|/);
    expect(md.stdout).toMatch(/- geomean 1 vs 2: ×0\.\d+/);

    const table = await cli(['compare', '--by', 'param:level'], { cwd: work });
    expect(table.stdout).toMatch(/geomean 2 vs 1: ×\d\.\d+ \[\d\.\d+, \d\.\d+\] over 2 scores/);
    expect(table.stdout).toMatch(/family toy: speed \(primary\) at α 0\.05 \(95% CI\); lat at α 0\.05 each/);
  });

  it('compare --junit --max-regression: a significant regression beyond the threshold is a failing testcase and exit 1', async () => {
    const junit = path.join(work, 'compare.xml');
    const gate = await cli(
      ['compare', '--by', 'param:level', '--baseline', '2', '--junit', junit, '--max-regression', '5%'],
      { cwd: work },
    );
    expect(gate.code).toBe(1);
    expect(gate.stderr).toMatch(/regression: .* speed 1 vs 2: \d+\.\d+% worse \(> 5%\)/);
    const xml = parseJunit(junit);
    expect(xml.testsuites.testsuite).toMatchObject({ '@_tests': '2', '@_failures': '2' });
    const failure = xml.testsuites.testsuite.testcase.find((t: { '@_name': string }) =>
      t['@_name'].includes('speed'),
    );
    expect(failure.failure['@_type']).toBe('REGRESSION');
    expect(failure.failure['@_message']).toMatch(/speed regressed \d+\.\d+% \(> 5%\)/);

    const lenient = await cli(
      ['compare', '--by', 'param:level', '--baseline', '2', '--max-regression', '150%'],
      { cwd: work },
    );
    expect(lenient.code).toBe(0);
  });

  it('run --junit writes one testcase per cell; run --baseline gates against a stored run', async () => {
    const toy = (speed: number) => `name: gate
repetitions: 5
targets: [{ name: here, provider: local }]
benchmarks:
  - benchmark:
      name: toy
      image: benchyard/bench-tools:1
      network: none
      command: ["awk", 'BEGIN { srand(); printf "speed: %.3f\\n", ${speed} + rand() }']
      scores: [{ name: speed, unit: op/s, direction: higher, regex: 'speed: ([0-9.]+)' }]
  - benchmark:
      name: broken
      image: benchyard/bench-tools:1
      network: none
      command: ["false"]
    repetitions: 1
`;
    const state = path.join(work, 'gate-state');
    writeFileSync(
      path.join(work, 'gate.yaml'),
      toy(200).replace(/ {2}- benchmark:\n {6}name: broken[\s\S]*$/, ''),
    );
    const first = await cli(['run', 'gate.yaml', '--state', state, '--tag', 'release-1'], { cwd: work });
    expect(first.code, first.stderr).toBe(0);

    // The same cells, now half as fast, and one cell that fails: JUnit shows both, the gate trips.
    writeFileSync(path.join(work, 'gate.yaml'), toy(100));
    const junit = path.join(work, 'run.xml');
    const second = await cli(
      ['run', 'gate.yaml', '--state', state, '--junit', junit, '--baseline', 'latest-passing'],
      { cwd: work },
    );
    expect(second.code).toBe(1);
    const suite = parseJunit(junit).testsuites.testsuite;
    // Two cells, one gated score and the gate's own testcase (its summary): the failing cell,
    // the regression and the gate are failures.
    expect(suite).toMatchObject({ '@_name': 'gate', '@_tests': '4', '@_failures': '3' });
    const regression = suite.testcase.find(
      (t: { '@_classname': string }) => t['@_classname'] === 'gate.regression.toy',
    );
    expect(regression.failure['@_type']).toBe('REGRESSION');
    const broken = suite.testcase.find((t: { '@_name': string }) => t['@_name'].startsWith('broken'));
    expect(broken.failure).toMatchObject({
      '@_type': 'BENCHMARK_FAILED',
      '@_message': '1 of 1 repetitions failed',
    });

    // Without the failing cell, the regression alone fails the run (baseline found by its tag).
    writeFileSync(
      path.join(work, 'gate.yaml'),
      toy(100).replace(/ {2}- benchmark:\n {6}name: broken[\s\S]*$/, ''),
    );
    const third = await cli(
      ['run', 'gate.yaml', '--state', state, '--baseline', 'release-1', '--max-regression', '10%'],
      { cwd: work },
    );
    expect(third.code).toBe(1);
    expect(third.stderr).toMatch(/gate: \S+ against \S+, max regression 10%/);
    expect(third.stderr).toMatch(/regression: toy @here speed .*: \d+\.\d+% worse \(> 10%\)/);

    // A run id that is not stored is exit 2 (a tag no run carries yet is a note: nightly.test.ts).
    const missing = await cli(
      ['run', 'gate.yaml', '--state', state, '--baseline', '20990101-000000-abcdef'],
      { cwd: work },
    );
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--baseline '20990101-000000-abcdef': no run with that id in /);
    const badTag = await cli(['run', 'gate.yaml', '--state', state, '--tag', 'not a tag'], { cwd: work });
    expect(badTag.code).toBe(2);
    expect(badTag.stderr).toMatch(/--tag 'not a tag'/);
  });

  it('gives the same comparison from SQLite and from Elasticsearch', async () => {
    const dir = path.join(work, 'both-stores');
    const state = path.join(dir, 'state');
    writeFileSync(
      path.join(work, 'both.yaml'),
      readFileSync(path.join(work, 'm.yaml'), 'utf8').replace('name: cmp', `name: both-${process.pid}`),
    );
    const run = await cli(['run', 'both.yaml', '--state', state, '--es', ES_URL, '--json'], { cwd: work });
    expect(run.code, run.stderr).toBe(0);
    const runId = JSON.parse(run.stdout).run.id as string;
    for (const format of ['json', 'table']) {
      const args = ['compare', '--by', 'param:level', '--run', runId, '--format', format];
      const fromSqlite = await cli([...args, '--state', state], { cwd: work });
      const fromEs = await cli([...args, '--es', ES_URL], { cwd: work });
      expect(fromSqlite.code, fromSqlite.stderr).toBe(0);
      expect(fromEs.code, fromEs.stderr).toBe(0);
      expect(fromEs.stdout).toBe(fromSqlite.stdout);
    }
  });

  it('records warmup repetitions but keeps them out of summaries and comparisons', async () => {
    writeFileSync(
      path.join(work, 'warm.yaml'),
      readFileSync(path.join(work, 'm.yaml'), 'utf8')
        .replace('name: cmp', 'name: warm')
        .replace('repetitions: 5', 'repetitions: 3\nwarmup: 2'),
    );
    const state = path.join(work, 'warm-state');
    const run = await cli(['run', 'warm.yaml', '--state', state, '--json'], { cwd: work });
    expect(run.code, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout);
    expect(out.run.repetitions).toBe(10); // 2 cells × (2 warmup + 3 measured)
    const first = out.results.filter((r: { cellId: string }) => r.cellId === out.results[0].cellId);
    expect(first.map((r: { repetition: number; warmup: boolean }) => [r.repetition, r.warmup])).toEqual([
      [1, true],
      [2, true],
      [3, false],
      [4, false],
      [5, false],
    ]);
    expect(out.cells.map((c: { passed: number; total: number }) => [c.passed, c.total])).toEqual([
      [3, 3],
      [3, 3],
    ]);
    const stored = JSON.parse((await cli(['results', '--json', '--state', state], { cwd: work })).stdout);
    expect(stored.results.filter((r: { warmup: boolean }) => r.warmup)).toHaveLength(4);
    const c = JSON.parse(
      (await cli(['compare', '--by', 'param:level', '--state', state, '--format', 'json'], { cwd: work }))
        .stdout,
    );
    expect(c.rows[0].groups.map((g: { n: number }) => g.n)).toEqual([3, 3]);
    // 3 vs 3 cannot reach p < 0.05 whatever the values: the row says how many would.
    expect(c.rows[0].groups[1]).toMatchObject({ verdict: 'too few repetitions', needsRepetitions: 4 });
  });

  it('control repetitions run with every collector off and show what sampling costs', async () => {
    writeFileSync(
      path.join(work, 'control.yaml'),
      `name: control
repetitions: 2
control: 1
metrics: { interval: 200ms }
targets: [{ name: here, provider: local, hourlyPrice: 0.36 }]
benchmarks:
  - benchmark:
      name: sleeper
      image: benchyard/bench-tools:1
      network: none
      command: ["sh", "-c", "sleep 1.5; echo 'speed: 5'"]
      scores: [{ name: speed, unit: op/s, direction: higher, regex: 'speed: ([0-9.]+)' }]
`,
    );
    const state = path.join(work, 'control-state');
    const run = await cli(['run', 'control.yaml', '--state', state, '--json'], { cwd: work });
    expect(run.code, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout);
    expect(out.run.repetitions).toBe(3);
    type R = {
      repetition: number;
      control?: boolean;
      startedAt: string;
      finishedAt: string;
      hourlyPriceUsd: number;
    };
    const rs: R[] = out.results;
    expect(rs.map((r) => [r.repetition, r.control ?? false])).toEqual([
      [1, true],
      [2, false],
      [3, false],
    ]);
    expect(rs.every((r) => r.hourlyPriceUsd === 0.36)).toBe(true); // the target's amortized rate
    expect(out.cells[0].scores[0]).toMatchObject({
      median: 5,
      n: 2,
      control: { median: 5, n: 1, diffPct: 0 },
    });

    // No sample of any kind was taken while the control repetition ran; the measured ones have theirs.
    const stored = JSON.parse(
      (await cli(['results', '--samples', '--json', '--state', state], { cwd: work })).stdout,
    );
    type S = { repetition: number; scope: string; timestamp: number };
    const samples: S[] = stored.samples;
    const [control, measured] = [rs[0]!, rs[1]!];
    const during = (r: R) => (s: S) =>
      s.timestamp > Date.parse(r.startedAt) + 250 && s.timestamp < Date.parse(r.finishedAt) - 250;
    expect(samples.filter(during(control))).toEqual([]);
    expect(samples.filter((s) => s.repetition === 1)).toEqual([]);
    expect(samples.filter(during(measured)).map((s) => s.scope)).toEqual(
      expect.arrayContaining(['container', 'host']),
    );
    const c = JSON.parse(
      (await cli(['compare', '--by', 'target', '--state', state, '--format', 'json'], { cwd: work })).stdout,
    );
    expect(c.rows[0].groups[0]).toMatchObject({ n: 2, hourlyPriceUsd: 0.36 });
  });

  it('adaptive: extends a noisy cell up to its cap and leaves a steady one alone', async () => {
    const toy = (name: string, program: string) => `  - benchmark:
      name: ${name}
      image: benchyard/bench-tools:1
      network: none
      command: ${JSON.stringify(['sh', '-c', program])}
      scores: [{ name: speed, unit: op/s, direction: higher, regex: 'speed: ([0-9.e+]+)' }]
`;
    // Noisy: log-uniform over 10..10000 from the clock's nanoseconds, so three values within
    // 2.5 % of each other are practically impossible (awk's rand() is not: it seeds from the
    // second, and mawk's first draw barely depends on the seed).
    const noisy = `awk -v n=$(date +%N) 'BEGIN { print "speed: " 10 ^ (1 + 3 * (n % 100000) / 100000) }'`;
    writeFileSync(
      path.join(work, 'adaptive.yaml'),
      `name: adaptive\nrepetitions: 3\nadaptive: { cov: 2.5%, max: 5 }\ntargets: [{ name: here, provider: local }]\nbenchmarks:\n${toy('noisy', noisy)}${toy('steady', 'echo "speed: 100"')}`,
    );
    const run = await cli(['run', 'adaptive.yaml', '--state', path.join(work, 'adaptive-state'), '--json'], {
      cwd: work,
    });
    expect(run.code, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout);
    const count = (b: string) => out.results.filter((r: { benchmark: string }) => r.benchmark === b).length;
    expect(count('noisy')).toBe(5);
    expect(count('steady')).toBe(3);
    expect(out.run.repetitions).toBe(8);
    expect(run.stderr).toMatch(/^noisy: results still vary, adding measured repetition 4$/m);
    // The last progress line counts all 8 (interleaved: the extensions come last, so it is noisy's).
    expect(run.stderr).toMatch(/\[8\/8\] (noisy|steady)/);
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

function parseJunit(file: string) {
  return new XMLParser({ ignoreAttributes: false, isArray: (name) => name === 'testcase' }).parse(
    readFileSync(file, 'utf8'),
  );
}

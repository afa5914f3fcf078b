/**
 * A nightly as Jenkins runs it, through the CLI on this machine: an empty state (the first
 * build records, passes and says so), tagged runs, a regression injected (the code under
 * test gets half as fast), the pooled baseline gate catching it at once, the changepoint
 * gate catching it once it can be told from noise, `history` listing the change, and
 * `expect:` reference values failing a cell. A tiny benchmark (`echo speed: N`, N from a
 * file the matrix mounts) keeps each run to a second or two.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { cli, type CliResult } from '../helpers/cli.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'by-nightly-'));
const name = `nightly-e2e-${process.pid}`;
mkdirSync(path.join(work, 'in'));
const matrix = (extra = '') => `name: ${name}
repetitions: 3
targets: [{ name: here, provider: local }]
metrics: { host: false, gpu: false }
benchmarks:
  - benchmark:
      name: toy
      image: benchyard/bench-tools:1
      network: none
      command: ["sh", "-c", "echo speed: $(cat /in/speed)"]
      scores:
        - { name: speed, unit: op/s, direction: higher, regex: 'speed: ([0-9.]+)' }
    inputs: ./in
${extra}`;
writeFileSync(path.join(work, 'm.yaml'), matrix());
writeFileSync(
  path.join(work, 'expect.yaml'),
  matrix('    expect: { score: speed, ref: 100, lower: -5%, upper: +10% }\n'),
);

const XSD =
  process.env.BENCHYARD_JUNIT_XSD ??
  path.join(process.env.BENCHYARD_DEV_CACHE ?? '/var/cache/benchyard-dev', 'junit-schema', 'junit.xsd');

/** The JUnit file Jenkins would read: valid against its schema, parsed. */
function junit(file: string) {
  expect(existsSync(XSD), `JUnit schema ${XSD} missing: run scripts/services up tools`).toBe(true);
  const lint = spawnSync('xmllint', ['--noout', '--schema', XSD, file], { encoding: 'utf8' });
  expect(lint.status, lint.stderr).toBe(0);
  const parser = new XMLParser({ ignoreAttributes: false, isArray: (tag) => tag === 'testcase' });
  return parser.parse(readFileSync(file, 'utf8')).testsuites.testsuite as {
    '@_failures': string;
    testcase: {
      '@_name': string;
      failure?: { '@_type': string; '@_message': string };
      'system-out'?: string;
    }[];
  };
}

const speed = (n: number) => writeFileSync(path.join(work, 'in', 'speed'), `${n}\n`);
const state = ['--state', path.join(work, 'state')];
const nightly = (...args: string[]) =>
  cli(['run', 'm.yaml', ...state, '--tag', 'nightly', ...args], { cwd: work });
const runIdOf = (r: CliResult) => /^run (\S+) \(/m.exec(r.stdout)?.[1];

describe('a nightly: first build, pooled baseline, changepoint gate, history', () => {
  it(
    'from an empty state to a regression caught by both gates and listed by history',
    { timeout: 150_000 },
    async () => {
      speed(100);
      const first = await nightly('--baseline', 'nightly', '--baseline-runs', '3', '--junit', 'j1.xml');
      expect(first.code, first.stderr).toBe(0);
      expect(first.stderr).toContain(
        `gate: no baseline yet: no passing run of '${name}' tagged 'nightly' in '${path.join(work, 'state')}'. This run is recorded and passes the gate; later runs are gated against it`,
      );
      const j1 = junit(path.join(work, 'j1.xml'));
      expect(j1['@_failures']).toBe('0');
      expect(j1.testcase.map((t) => t['@_name'])).toEqual([
        expect.stringMatching(/^toy on here \[/),
        'gate (baseline)',
      ]);
      expect(j1.testcase[1]!['system-out']).toContain('no baseline yet');
      expect(j1.testcase[0]!['system-out']).toContain(
        '<measurement><name>speed</name><value>100</value></measurement>',
      );

      // A run id that does not exist is the user's mistake: exit 2 before anything runs.
      const typo = await nightly('--baseline', '20990101-000000-abcdef');
      expect(typo.code).toBe(2);
      expect(typo.stderr).toContain("--baseline '20990101-000000-abcdef': no run with that id");

      for (let i = 2; i <= 6; i++) {
        const r = await nightly('--gate', 'changepoint', '--baseline', 'nightly');
        expect(r.code, r.stderr).toBe(0);
        if (i === 2)
          expect(r.stderr).toContain(
            'gate: 1 cell score over 2 runs: 0 checked (0 new change point(s) worse by more than 5%, 0 other(s)); 1 unchecked — 1: fewer than 4 runs measured it',
          );
        if (i === 6)
          expect(r.stderr).toContain('gate: 1 cell score over 6 runs: 1 checked (0 new change point(s)');
      }

      // The regression: the pooled baseline gate fails the very build that brings it.
      speed(50);
      const caught = await nightly('--baseline', 'nightly', '--baseline-runs', '3', '--junit', 'j7.xml');
      expect(caught.code, caught.stderr).toBe(1);
      const regressed = runIdOf(caught)!;
      expect(caught.stderr).toMatch(
        new RegExp(
          `regression: toy @here speed ${regressed} vs last 3 'nightly' runs: 50\\.00% worse \\(> 5%\\), p \\(adj\\.\\) 0\\.0\\d+`,
        ),
      );
      expect(caught.stderr).toContain(
        'gate: 1 comparison: 1 checked (1 regression, 0 improvements, 0 no significant difference, 0 worse within 5%); 0 unchecked',
      );
      const j7 = junit(path.join(work, 'j7.xml'));
      expect(j7.testcase.map((t) => t.failure?.['@_type'])).toEqual([undefined, 'REGRESSION', 'GATE']);

      // The changepoint gate: one run on the new level is an outlier; the next one or two make the change.
      const outcomes: number[] = [];
      let failed: CliResult | undefined;
      for (let i = 0; i < 3 && !failed; i++) {
        const r = await nightly('--gate', 'changepoint', '--baseline', 'nightly', '--junit', 'jcp.xml');
        outcomes.push(r.code);
        if (r.code !== 0) failed = r;
      }
      expect(outcomes.at(-1)).toBe(1);
      expect(outcomes.slice(0, -1).every((c) => c === 0)).toBe(true);
      expect(failed!.stderr).toMatch(
        new RegExp(
          `change point: toy @here speed at ${regressed} \\(.*\\): mean 100 → 50 op/s \\(-50\\.00%, worse; 6 runs before, \\d after\\), p 0\\.0\\d+`,
        ),
      );
      expect(failed!.stderr).toContain('error: 1 change point(s) at the newest runs, worse by more than 5%');
      const jcp = junit(path.join(work, 'jcp.xml'));
      expect(jcp.testcase.find((t) => t.failure?.['@_type'] === 'CHANGE_POINT')?.['@_name']).toBe(
        `toy @here speed: change point at ${regressed}`,
      );
      // It fails once: the build after sees the same change point and passes.
      const after = await nightly('--gate', 'changepoint', '--baseline', 'nightly');
      expect(after.code, after.stderr).toBe(0);

      const history = await cli(['history', ...state, '--tag', 'nightly'], { cwd: work });
      expect(history.code, history.stderr).toBe(0);
      expect(history.stdout).toMatch(
        /^history: \d+ passing runs tagged 'nightly'; 1 cell score\(s\), 1 change point\(s\)$/m,
      );
      expect(history.stdout).toMatch(
        new RegExp(
          `^  \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d  ${regressed}  100 → 50 op/s  -50\\.00%  worse  \\(6 runs before, \\d after; p 0\\.0\\d+\\)$`,
          'm',
        ),
      );
      const json = await cli(
        ['history', ...state, '--tag', 'nightly', '--cell', 'toy', '--score', 'speed', '--json'],
        { cwd: work },
      );
      const [series] = JSON.parse(json.stdout).series;
      expect(series).toMatchObject({ cell: 'toy @here', score: 'speed', direction: 'higher' });
      expect(series.changePoints).toMatchObject([
        { runId: regressed, verdict: 'worse', before: { mean: 100 }, after: { mean: 50 }, changePct: -50 },
      ]);
      const none = await cli(['history', ...state, '--tag', 'weekly'], { cwd: work });
      expect(none.stdout).toBe("history: no passing runs tagged 'weekly' stored yet\n");
    },
  );

  it('expect: a score outside its reference range fails the cell’s testcase and the run (exit 1)', async () => {
    speed(50);
    const r = await cli(
      ['run', 'expect.yaml', '--state', path.join(work, 'state-expect'), '--junit', 'je.xml'],
      { cwd: work },
    );
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(
      /^expect: toy on here \[\w+\] #1 speed 50 op\/s outside \[95, 110\] \(ref 100 -5%\/\+10%\)$/m,
    );
    expect(r.stderr).toContain('error: 3 score(s) outside their expected range (expect:) in 1 cell(s)');
    const je = junit(path.join(work, 'je.xml'));
    expect(je.testcase[0]!.failure).toMatchObject({
      '@_type': 'EXPECTATION',
      '@_message': '3 score(s) outside their expected range',
    });
  });
});

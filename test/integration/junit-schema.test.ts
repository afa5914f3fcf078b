/**
 * The JUnit XML that `benchyard run --junit` and `benchyard compare --junit` write validates
 * against the JUnit schema Jenkins reads: junit-10.xsd of Jenkins' xunit plugin, which
 * `scripts/services up tools` takes from pytest's sdist on PyPI (checksum pinned there) and
 * leaves at $BENCHYARD_DEV_CACHE/junit-schema/junit.xsd. Checked by xmllint, as a CI would.
 * The schema or xmllint missing fails the test: CI must run it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { compare, type Comparison } from '../../src/analysis/index.js';
import {
  NO_REQUIREMENTS,
  type FailureClass,
  type MatrixCell,
  type RepetitionResult,
  type RunRecord,
  type TargetSpec,
} from '../../src/core/index.js';
import { compareJunit, runJunit } from '../../src/report/index.js';

const XSD =
  process.env.BENCHYARD_JUNIT_XSD ??
  path.join(process.env.BENCHYARD_DEV_CACHE ?? '/var/cache/benchyard-dev', 'junit-schema', 'junit.xsd');

const work = mkdtempSync(path.join(os.tmpdir(), 'by-junit-'));

/** Writes the XML to a file and validates it with xmllint; fails with xmllint's message. */
function validate(name: string, xml: string): string {
  if (!existsSync(XSD))
    throw new Error(
      `JUnit schema ${XSD} missing: run scripts/services up tools (or set BENCHYARD_JUNIT_XSD)`,
    );
  const file = path.join(work, `${name}.xml`);
  writeFileSync(file, xml);
  const res = spawnSync('xmllint', ['--noout', '--schema', XSD, file], { encoding: 'utf8' });
  if (res.error)
    throw new Error(`xmllint could not run (${res.error.message}): run scripts/services up tools`);
  expect(res.status, `xmllint --schema ${XSD} ${file}:\n${res.stderr}`).toBe(0);
  return file;
}

const parser = new XMLParser({ ignoreAttributes: false, isArray: (tag) => tag === 'testcase' });
type Testcase = Record<string, unknown> & {
  '@_classname': string;
  '@_name': string;
  '@_time': string;
  failure?: { '@_type': string; '@_message': string; '#text': string };
  skipped?: { '@_message': string };
};
function suiteOf(xml: string): { attrs: Record<string, string>; cases: Testcase[] } {
  const doc = parser.parse(xml) as { testsuites: { testsuite: Record<string, unknown> } };
  const s = doc.testsuites.testsuite;
  return { attrs: s as Record<string, string>, cases: (s.testcase as Testcase[] | undefined) ?? [] };
}

const here: TargetSpec = { name: 'gpu-box', provider: 'local', options: {} };
const there: TargetSpec = { name: 'büro-ü', provider: 'ssh', options: {} };

function cell(
  id: string,
  index: number,
  params: MatrixCell['params'],
  target = here,
  benchmark = 'toy',
): MatrixCell {
  return {
    id,
    index,
    entry: benchmark,
    benchmark,
    benchmarkVersion: 1,
    target,
    params,
    image: 'benchyard/bench-tools:1',
    argv: ['run'],
    env: {},
    network: 'none',
    requires: NO_REQUIREMENTS,
    repetitions: 3,
    warmup: 0,
    control: 0,
    timeoutMs: 60_000,
    scores: [{ name: 'speed', unit: 'op/s', direction: 'higher', from: 'stdout', regex: 'speed: (\\d+)' }],
    artifacts: [],
  };
}

function result(
  c: MatrixCell,
  repetition: number,
  speed: number,
  extra: Partial<RepetitionResult> = {},
): RepetitionResult {
  return {
    runId: 'run-2',
    cellId: c.id,
    repetition,
    benchmark: c.benchmark,
    benchmarkVersion: 1,
    params: c.params,
    target: c.target.name,
    provider: c.target.provider,
    machineId: 'm1',
    instanceType: 'local',
    image: c.image,
    imageDigest: 'sha256:abc',
    status: 'passed',
    warmup: false,
    scores: [
      { name: 'speed', value: speed, unit: 'op/s', direction: 'higher' },
      { name: 'lat', value: 1000 / speed, unit: 'ms', direction: 'lower' },
    ],
    startedAt: '2025-03-04T05:06:07.000Z',
    finishedAt: '2025-03-04T05:06:08.234Z',
    durationMs: 1234.5678,
    metrics: { samples: 0 },
    artifacts: [],
    ...extra,
  };
}

function failed(
  c: MatrixCell,
  repetition: number,
  failureClass: FailureClass,
  reason: string,
): RepetitionResult {
  return result(c, repetition, 0, {
    status: 'failed',
    failureClass,
    failureReason: reason,
    exitCode: 1,
    scores: [],
    durationMs: 17,
  });
}

const run: RunRecord = {
  id: 'run-2',
  name: 'nightly',
  matrixPath: 'matrix.yaml',
  status: 'failed',
  startedAt: '2025-03-04T05:06:00.000Z',
  finishedAt: '2025-03-04T05:09:00.000Z',
  cells: 5,
  repetitions: 8,
  passed: 6,
  failed: 2,
};

// Container output as it reaches a failure reason: colours, a bell, markup, non-ASCII, and
// characters XML 1.0 cannot hold at all (NUL, other C0 controls, U+FFFE, a lone surrogate).
const NASTY =
  'exit 1: \u001b[31mERROR\u001b[0m <stdin> & "quoted" \'single\' ]]> \u0007bell\u0000nul\u000bvt\u000c' +
  ' café 日本語 🚀 \ufffe\ud800 \u001b]0;title\u0007tab\there\r\nsecond line';

const fine = cell('c-fine', 0, { threads: 1, mode: 'fast' });
const broken = cell('c-broken', 1, { threads: 8, label: 'a<b & "c"' }, there, 'toy');
const skippedCell = cell('c-skip', 2, { threads: 1 }, here, 'gpu-burn');
const notRun = cell('c-none', 3, { threads: 2 });
const otherBench = cell('c-mem', 4, {}, here, 'mem\u0007bw');
const cells = [fine, broken, skippedCell, notRun, otherBench];

const results: RepetitionResult[] = [
  result(fine, 1, 100),
  result(fine, 2, 101),
  result(fine, 3, 99),
  result(broken, 1, 100),
  failed(broken, 2, 'BENCHMARK_FAILED', NASTY),
  failed(broken, 3, 'TIMEOUT', 'timed out after 60 s\u001b[2K\u001b[1G'),
  result(otherBench, 1, 5000),
  result(otherBench, 2, 5001),
];

const skipped = new Map([[skippedCell.id, "skipped: target 'gpu-box' has no NVIDIA GPU <driver> & \u0007"]]);

/** A comparison by run: `base` then `run-2`, with the given factor on the speed of run-2. */
function runComparison(factor: number): Comparison {
  const base = [100, 101, 99, 100.5, 99.5, 100.2];
  const rs = [
    ...base.map((v, i) => result(fine, i + 1, v, { runId: 'base' })),
    ...base.map((v, i) => result(fine, i + 1, v * factor, { runId: 'run-2' })),
    // A cell only the baseline has: the contender's group is empty (a skipped testcase).
    ...base.map((v, i) => result(otherBench, i + 1, v, { runId: 'base' })),
  ];
  return compare(rs, { by: 'run', baseline: 'base' });
}

describe('JUnit XML validates against the Jenkins JUnit schema (xmllint)', () => {
  it('run: passed, failed (with text that needs escaping or cannot be XML), skipped and not-run cells', () => {
    const xml = runJunit(run, cells, results, undefined, skipped);
    validate('run', xml);

    const { attrs, cases } = suiteOf(xml);
    expect(attrs).toMatchObject({ '@_name': 'nightly', '@_tests': '5', '@_failures': '1', '@_skipped': '2' });
    expect(cases.map((c) => c['@_classname'])).toEqual([
      'nightly.toy',
      'nightly.toy',
      'nightly.gpu-burn',
      'nightly.toy',
      'nightly.mem\ufffdbw',
    ]);
    expect(cases[0]!['@_name']).toBe('toy threads=1 mode=fast on gpu-box [c-fine]');
    expect(cases[0]!['@_time']).toBe('3.704'); // 3 × 1.2345678 s

    const failure = cases[1]!.failure!;
    expect(cases[1]!['@_name']).toBe('toy threads=8 label=a<b & "c" on büro-ü [c-broken]');
    expect(failure['@_type']).toBe('BENCHMARK_FAILED');
    expect(failure['@_message']).toBe('2 of 3 repetitions failed');
    // What Jenkins shows: the text survives, escaped; colour codes are gone, the rest legible.
    const detail = failure['#text'];
    expect(detail).toContain('#2 BENCHMARK_FAILED: exit 1: ERROR <stdin> & "quoted" \'single\' ]]>');
    expect(detail).toContain('café 日本語 🚀');
    expect(detail).toContain('second line');
    expect(detail).toContain('#3 TIMEOUT: timed out after 60 s');
    expect(detail).not.toContain('\u001b');
    expect(detail).not.toMatch(/\[\d*[mKG]|0;title/);
    // Characters XML cannot hold at all show as U+FFFD; tabs and line breaks stay.
    expect(detail).toContain('\ufffdbell\ufffdnul\ufffdvt\ufffd café');
    expect(detail).toContain('tab\there');

    expect(cases[2]!.skipped!['@_message']).toMatch(
      /^skipped: target 'gpu-box' has no NVIDIA GPU <driver> & /,
    );
    expect(cases[3]!.skipped!['@_message']).toMatch(/not run/);
    expect(cases[4]).not.toHaveProperty('failure');
  });

  it('run with a gate that trips: a failing regression testcase per regressed score', () => {
    const gate = { comparison: runComparison(0.8), maxRegressionPct: 5 };
    const xml = runJunit(run, cells, results, gate, skipped);
    validate('run-gate-regression', xml);
    const { attrs, cases } = suiteOf(xml);
    const regression = cases.filter((c) => c['@_classname'].startsWith('nightly.regression.'));
    expect(
      regression.map((c) => [c['@_name'], c.failure?.['@_type'] ?? (c.skipped ? 'skipped' : 'ok')]),
    ).toEqual([
      ['toy threads=1 mode=fast @gpu-box speed: run-2 vs base', 'REGRESSION'],
      ['toy threads=1 mode=fast @gpu-box lat: run-2 vs base', 'REGRESSION'],
      // The BEL in the benchmark's name could not go into XML: U+FFFD stands for it.
      ['mem\ufffdbw @gpu-box speed: run-2 vs base', 'skipped'],
      ['mem\ufffdbw @gpu-box lat: run-2 vs base', 'skipped'],
    ]);
    expect(regression.map((c) => c['@_classname'])).toEqual([
      'nightly.regression.toy',
      'nightly.regression.toy',
      'nightly.regression.mem\ufffdbw',
      'nightly.regression.mem\ufffdbw',
    ]);
    expect(regression[1]!.failure!['@_message']).toMatch(/^lat regressed 25\.\d\d% \(> 5%\)$/);
    expect(regression[0]!.failure!['@_message']).toMatch(/^speed regressed 20\.\d\d% \(> 5%\)$/);
    expect(attrs).toMatchObject({ '@_tests': '9', '@_failures': '3', '@_skipped': '4' });
  });

  it('run with a gate that passes (no regression)', () => {
    const gate = { comparison: runComparison(1.25), maxRegressionPct: 5 };
    const xml = runJunit(run, [fine], results.slice(0, 3), gate);
    validate('run-gate-ok', xml);
    const { attrs } = suiteOf(xml);
    expect(attrs).toMatchObject({ '@_tests': '5', '@_failures': '0', '@_skipped': '2' });
  });

  it('compare: a regression and one without', () => {
    const regressed = compareJunit(runComparison(0.8), 5, '2025-03-04T05:10:00.000Z');
    validate('compare-regression', regressed);
    expect(suiteOf(regressed).attrs).toMatchObject({ '@_name': 'compare by run', '@_failures': '2' });

    const ok = compareJunit(runComparison(1.25), 5, '2025-03-04T05:10:00.000Z');
    validate('compare-ok', ok);
    expect(suiteOf(ok).attrs).toMatchObject({ '@_failures': '0', '@_tests': '4' });
  });

  it('compare with no groups, and with one group only: an empty suite', () => {
    const none = compareJunit(compare([], { by: 'target' }), 0, '2025-03-04T05:10:00.000Z');
    validate('compare-empty', none);
    expect(suiteOf(none)).toMatchObject({ attrs: { '@_tests': '0', '@_failures': '0' }, cases: [] });

    const one = compareJunit(compare(results, { by: 'target' }), 0, '2025-03-04T05:10:00.000Z');
    validate('compare-one-group', one);
  });

  it('run with values, expectations, a gate summary and a change point (the nightly parts)', () => {
    const gate = { comparison: runComparison(1.0), maxRegressionPct: 5 };
    const expectations = new Map([
      [fine.id, [{ ok: true, line: '#1 speed 100 op/s within [95, 110] (ref 100 -5%/+10%)' }]],
      [otherBench.id, [{ ok: false, line: '#2 speed 5001 op/s outside [0, 10] (ref 5 ∞/+100%) <&>' }]],
    ]);
    const cases = [
      {
        classname: 'nightly.changepoint.toy',
        name: 'toy @gpu-box speed: change point at run-2',
        timeSeconds: 0,
        failure: {
          type: 'CHANGE_POINT',
          message: 'speed 50.00% worse since run-2 (> 5%)',
          detail: 'mean 100 → 50',
        },
      },
      {
        classname: 'nightly.gate',
        name: 'gate (baseline)',
        timeSeconds: 0,
        out: 'gate: no baseline yet: …\u0007',
      },
    ];
    const xml = runJunit(run, [fine, otherBench], results, gate, new Map(), { expectations, cases });
    validate('run-nightly', xml);
    const { attrs, cases: tcs } = suiteOf(xml);
    // fine passes and carries its values; otherBench fails its expectation; the change point fails.
    expect(attrs).toMatchObject({ '@_tests': '8', '@_failures': '2' });
    const out = (tc: Testcase) => tc['system-out'] as string;
    expect(out(tcs[0]!)).toContain('speed: median 100.0 op/s (n 3, higher is better); Δ');
    expect(out(tcs[0]!)).toContain('<measurement><name>speed</name><value>100</value></measurement>');
    expect(out(tcs[0]!)).toContain('expect #1 speed 100 op/s within [95, 110]');
    expect(tcs[1]!.failure).toMatchObject({
      '@_type': 'EXPECTATION',
      '@_message': '1 score(s) outside their expected range',
    });
    const compared = tcs.find(
      (t) => t['@_name'] === 'toy threads=1 mode=fast @gpu-box speed: run-2 vs base',
    )!;
    expect(out(compared)).toMatch(
      /^median 100\.\d* op\/s vs 100\.\d* \(higher is better\); Δ [-+]?\d+\.\d\d% \[[-+]?\d+\.\d\d, [-+]?\d+\.\d\d\] 95% CI vs base/,
    );
    expect(out(compared)).toContain('<measurement><name>speed change % CI low</name>');
    // The baseline had this cell but the run did not: the skip names the run, not the baseline.
    const missing = tcs.find((t) => t['@_name'] === 'mem\ufffdbw @gpu-box speed: run-2 vs base')!;
    expect(missing.skipped!['@_message']).toBe('no passed result in run-2');
    expect(tcs.at(-1)).toMatchObject({ '@_name': 'gate (baseline)' });
    expect(out(tcs.at(-1)!)).toBe('gate: no baseline yet: …\ufffd');
    const props = (
      parser.parse(xml) as {
        testsuites: { testsuite: { properties: { property: { '@_name': string; '@_value': string }[] } } };
      }
    ).testsuites.testsuite.properties.property;
    expect(props.map((p) => p['@_name'])).toContain('toy threads=1 mode=fast on gpu-box [c-fine] speed');
  });

  it('rejects what the schema forbids (the check itself works)', () => {
    const bad = runJunit(run, [fine], results.slice(0, 3)).replace('<testcase ', '<testcase bogus="1" ');
    const file = path.join(work, 'bad.xml');
    writeFileSync(file, bad);
    const res = spawnSync('xmllint', ['--noout', '--schema', XSD, file], { encoding: 'utf8' });
    expect(res.status).not.toBe(0);
    expect(res.stderr).toMatch(/bogus/);
  });
});

/**
 * The shipped examples/Jenkinsfile, as three nightly builds on an empty state folder (issue
 * 16): its `sh` steps, read from the file itself, run in Jenkins' order (test/helpers/
 * jenkins-build.ts) in a workspace that is this checkout, already built (BENCHYARD_PREBUILT,
 * the switch the Jenkinsfile documents, skips its install stage). The job's parameter MATRIX
 * names a tiny matrix; the third build's benchmark is half as fast, as a change that slowed
 * the code would make it. Jenkins' own steps are played here: `junit` fails on a missing file
 * (allowEmptyResults: false) and its file is validated with xmllint against junit-10.xsd, the
 * schema test/integration/junit-schema.test.ts uses (`scripts/services up tools`).
 */
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/catalog.js';
import { readPipeline, runBuild, type Build } from '../helpers/jenkins-build.js';
import { namedArg, type Directive } from '../helpers/jenkinsfile.js';
import { BENCH_IMAGE } from '../helpers/services.js';

const XSD =
  process.env.BENCHYARD_JUNIT_XSD ??
  path.join(process.env.BENCHYARD_DEV_CACHE ?? '/var/cache/benchyard-dev', 'junit-schema', 'junit.xsd');

const pipeline = readPipeline(readFileSync(path.join(ROOT, 'examples/Jenkinsfile'), 'utf8'));
const work = mkdtempSync(path.join(os.tmpdir(), 'by-jenkins-'));
const state = path.join(work, 'state');
// The workspace: the checkout as Jenkins leaves it (links to this built tree) plus what builds write.
const workspace = path.join(work, 'workspace');
spawnSync('mkdir', ['-p', workspace]);
for (const entry of readdirSync(ROOT))
  if (entry !== '.git' && entry !== 'benchyard-out')
    symlinkSync(path.join(ROOT, entry), path.join(workspace, entry));

const matrix = (speed: number) => `name: nightly-tiny
repetitions: 5
targets: [{ name: here, provider: local }]
benchmarks:
  - benchmark:
      name: toy
      image: ${BENCH_IMAGE}
      network: none
      command: ["awk", 'BEGIN { srand(); printf "speed: %.3f\\n", ${speed} + rand() }']
      scores: [{ name: speed, unit: op/s, direction: higher, regex: 'speed: ([0-9.]+)' }]
`;

interface Played {
  junit?: string;
  published: string[];
}

async function nightly(n: number, speed: number): Promise<{ build: Build; played: Played; stderr: string }> {
  writeFileSync(path.join(workspace, 'tiny.yaml'), matrix(speed));
  const played: Played = { published: [] };
  const build = await runBuild(pipeline, {
    cwd: workspace,
    env: {
      ...(process.env as Record<string, string>),
      BENCHYARD_PREBUILT: 'true',
      MATRIX: 'tiny.yaml',
      JOB_NAME: 'benchyard-nightly',
      BUILD_NUMBER: String(n),
      BUILD_TAG: `jenkins-benchyard-nightly-${n}`,
      WORKSPACE: workspace,
    },
    override: { BENCHYARD_STATE: state },
    jenkinsStep: (name, d) => play(name, d, played),
  });
  return { build, played, stderr: build.sh.map((s) => s.stderr).join('') };
}

function play(name: string, d: Directive, played: Played): boolean {
  const file = (key: string) => path.join(workspace, namedArg(d, key) ?? '');
  if (name === 'junit') {
    if (!existsSync(file('testResults'))) return namedArg(d, 'allowEmptyResults') === 'true';
    played.junit = readFileSync(file('testResults'), 'utf8');
  } else if (name === 'publishHTML') {
    const report = path.join(file('reportDir'), namedArg(d, 'reportFiles') ?? '');
    if (existsSync(report)) played.published.push(readFileSync(report, 'utf8'));
    else if (namedArg(d, 'allowMissing') !== 'true') return false;
  }
  return true;
}

/** xmllint's verdict on the JUnit text, against the schema Jenkins' xunit plugin uses. */
function validate(xml: string, name: string): void {
  if (!existsSync(XSD)) throw new Error(`JUnit schema ${XSD} missing: run scripts/services up tools`);
  const file = path.join(work, `${name}.xml`);
  writeFileSync(file, xml);
  const res = spawnSync('xmllint', ['--noout', '--schema', XSD, file], { encoding: 'utf8' });
  if (res.error)
    throw new Error(`xmllint could not run (${res.error.message}): run scripts/services up tools`);
  expect(res.status, `xmllint --schema ${XSD} ${file}:\n${res.stderr}`).toBe(0);
}

type Testcase = { '@_name': string; failure?: { '@_type': string } };
function testcases(xml: string): Testcase[] {
  const doc = new XMLParser({
    ignoreAttributes: false,
    isArray: (t) => t === 'testcase' || t === 'testsuite',
  }).parse(xml);
  return doc.testsuites.testsuite.flatMap((s: { testcase?: Testcase[] }) => s.testcase ?? []);
}

/** The lines benchyard wrote, without the shell's `+ command` trace. */
const said = (stderr: string) => stderr.split('\n').filter((l) => !l.startsWith('+'));
/** The gate's summary: what it checked, found, and left unchecked (issue 16). */
function expectGateSummary(stderr: string): void {
  const text = said(stderr).join('\n');
  for (const word of [/\bchecked\b/i, /\bregressions?\b/i, /\bimprovements?\b/i, /\bunchecked\b/i])
    expect(text, `gate summary: ${word}`).toMatch(word);
}
const failed = (b: Build) =>
  b.sh
    .filter((s) => s.code !== 0)
    .map((s) => `${s.stage}: exit ${s.code}: ${said(s.stderr).join('\n').trim()}`);

describe('examples/Jenkinsfile, three nightly builds', () => {
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it(
    'first build on an empty state: green, recorded, and says there was no baseline',
    { timeout: 120_000 },
    async () => {
      const { build, played, stderr } = await nightly(1, 200);
      expect(failed(build)).toEqual([]);
      expect(build.result).toBe('SUCCESS');
      expect(build.skipped).toEqual(['Install and build']);
      expect(
        said(stderr).some((l) => /baseline/i.test(l) && /\b(no|none|first|without)\b/i.test(l)),
        stderr,
      ).toBe(true);
      validate(played.junit!, 'build-1');
      expect(testcases(played.junit!).filter((t) => t.failure)).toEqual([]);
      expect(played.published[0]).toMatch(/^<!doctype html>/);
    },
  );

  it(
    'second build: green, with the gate summary and the scores as JUnit properties',
    { timeout: 120_000 },
    async () => {
      const { build, played, stderr } = await nightly(2, 200);
      expect(failed(build)).toEqual([]);
      expect(build.result).toBe('SUCCESS');
      expectGateSummary(stderr);
      validate(played.junit!, 'build-2');
      expect(testcases(played.junit!).filter((t) => t.failure)).toEqual([]);
      expect(played.junit).toMatch(/<property name="[^"]*speed[^"]*" value="[^"]+"/);
    },
  );

  it(
    'third build, half as fast: the run fails (exit 1) with the gate summary; report and JUnit still published',
    { timeout: 120_000 },
    async () => {
      const { build, played } = await nightly(3, 100);
      expect(build.result).toBe('FAILURE');
      const run = build.sh.find((s) => /bin\/benchyard\.js run\b/.test(s.script))!;
      expect(run.code, run.stderr).toBe(1);
      // The regression named with its score, not only counted.
      expect(
        said(run.stderr).some((l) => /regress/i.test(l) && /\bspeed\b/.test(l)),
        run.stderr,
      ).toBe(true);
      expectGateSummary(run.stderr);
      // Everything after the run is in post: it ran and succeeded.
      expect(build.sh.filter((s) => s !== run && s.code !== 0)).toEqual([]);
      validate(played.junit!, 'build-3');
      const regressions = testcases(played.junit!).filter((t) => t.failure?.['@_type'] === 'REGRESSION');
      expect(regressions.length).toBeGreaterThanOrEqual(1);
      expect(played.published[0]).toMatch(/^<!doctype html>/);
      // The change points of the nightly history, kept with the build.
      expect(readFileSync(path.join(workspace, 'benchyard-out/history.txt'), 'utf8').trim()).not.toBe('');
    },
  );
});

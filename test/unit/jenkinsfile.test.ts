/**
 * examples/Jenkinsfile as a Jenkins admin would review it (issue 16): it parses; no executor
 * is held at the top; every stage that runs something has its agent; the lab is locked
 * around every benchyard command; benchyard is installed and built from the checkout and
 * called as `node bin/benchyard.js` (never `npx`, which would fetch a same-named package from
 * the public registry); the run is tagged and gated; its JUnit file, report and artifacts are
 * the ones the Jenkins steps publish. The commands themselves run in test/e2e/jenkinsfile.test.ts.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/catalog.js';
import { readPipeline, stepsOf, type Stage, type Step } from '../helpers/jenkins-build.js';
import { child, children, firstString, namedArg, type Directive } from '../helpers/jenkinsfile.js';

const pipeline = readPipeline(readFileSync(path.join(ROOT, 'examples/Jenkinsfile'), 'utf8'));

/** Every stage with the stages it is nested in (outermost first). */
function walk(stages: Stage[], above: Stage[] = []): { stage: Stage; above: Stage[] }[] {
  return stages.flatMap((stage) => [
    { stage, above },
    ...walk([...stage.stages, ...stage.parallel], [...above, stage]),
  ]);
}
const stages = walk(pipeline.stages);
const ownSteps = (s: Stage): Step[] => stepsOf([...s.steps, ...[...s.post.values()].flat()]);
const scripts = stages.flatMap(({ stage }) =>
  ownSteps(stage).flatMap((s) => (s.kind === 'sh' ? [{ stage, step: s }] : [])),
);
const jenkinsSteps = (name: string): Directive[] =>
  stages.flatMap(({ stage }) =>
    ownSteps(stage).flatMap((s) => (s.kind === 'jenkins' && s.name === name ? [s.directive] : [])),
  );
const words = (d: Directive | undefined) => (d?.args ?? []).map((t) => t.text);
/** The value of `--flag VALUE` in a command line (quotes removed). */
const flag = (command: string, name: string) =>
  new RegExp(`${name}\\s+("[^"]*"|'[^']*'|\\S+)`).exec(command)?.[1]?.replace(/^["']|["']$/g, '');

const runCommand = scripts.map((s) => s.step.script).find((s) => /bin\/benchyard\.js run\b/.test(s))!;

describe('examples/Jenkinsfile', () => {
  it('holds no agent at the top level; every stage that runs steps has its own (or its parent stage’s)', () => {
    expect(words(child(pipeline.directive, 'agent'))).toEqual(['none']);
    const running = stages.filter(({ stage }) => ownSteps(stage).length > 0);
    expect(running.length).toBeGreaterThan(0);
    for (const { stage, above } of running)
      expect(
        [...above, stage].some((s) => child(s.directive, 'agent')),
        `stage '${stage.name}' runs steps without an agent`,
      ).toBe(true);
    // A parallel branch takes its own agent: one held above the `parallel` would be idle.
    for (const { stage } of stages)
      for (const branch of stage.parallel) expect(child(branch.directive, 'agent')).toBeDefined();
  });

  it('has a timeout, no concurrent builds and a build discarder', () => {
    const options = child(pipeline.directive, 'options');
    expect(options?.body?.map((o) => o.name)).toEqual(
      expect.arrayContaining(['timeout', 'disableConcurrentBuilds', 'buildDiscarder']),
    );
    expect(namedArg(child(options, 'timeout')!, 'unit')).toBe('HOURS');
  });

  it('locks the lab around every benchyard command', () => {
    const benchyard = scripts.filter((s) => s.step.script.includes('bin/benchyard.js'));
    expect(benchyard.length).toBeGreaterThanOrEqual(3);
    for (const { stage } of benchyard) {
      const { above } = stages.find((s) => s.stage === stage)!;
      const locks = [...above, stage].flatMap((s) => children(child(s.directive, 'options'), 'lock'));
      expect(
        locks.map((l) => namedArg(l, 'resource')),
        `stage '${stage.name}'`,
      ).toContain('benchyard-lab');
    }
  });

  it('installs and builds from the checkout and calls benchyard there, never through npx', () => {
    for (const { step } of scripts) {
      expect(step.gstring, `line ${step.line}: Groovy would expand the script`).toBe(false);
      expect(step.script).not.toMatch(/\bnpx\b/);
      // Every node command on the pinned Node 22, and benchyard only as the checkout's bin.
      if (/\b(node|npm)\b/.test(step.script)) expect(step.script).toMatch(/eval "\$\(scripts\/node-env\)"/);
      for (const m of step.script.matchAll(/\S*benchyard(\.js)?\s+(run|report|history|gc)\b/g))
        expect(m[0]).toMatch(/^bin\/benchyard\.js /);
    }
    const install = stages.find(({ stage }) =>
      stage.steps.some((s) => s.kind === 'sh' && /npm ci/.test(s.script)),
    );
    expect(install, 'a stage runs npm ci').toBeDefined();
    const installScripts = ownSteps(install!.stage).map((s) => (s.kind === 'sh' ? s.script : ''));
    expect(installScripts.join('\n')).toMatch(/npm run --silent build/);
    // The documented switch the e2e test uses to skip it in a tree already built.
    const when = child(install!.stage.directive, 'when');
    const env = child(child(when, 'not'), 'environment');
    expect([namedArg(env!, 'name'), namedArg(env!, 'value')]).toEqual(['BENCHYARD_PREBUILT', 'true']);
    // It comes before the run.
    expect(stages.indexOf(install!)).toBeLessThan(
      stages.findIndex(({ stage }) => stage.steps.some((s) => s.kind === 'sh' && s.script === runCommand)),
    );
  });

  it('tags and gates the run against the nightly baseline and writes the JUnit file the junit step reads', () => {
    expect(runCommand).toMatch(/--tag nightly\b/);
    expect(runCommand).toMatch(/--baseline nightly\b/);
    expect(runCommand).toMatch(/--state "\$BENCHYARD_STATE"/);
    const junitFile = flag(runCommand, '--junit');
    expect(junitFile).toBeDefined();
    const [junit, ...more] = jenkinsSteps('junit');
    expect(more).toEqual([]);
    expect(namedArg(junit!, 'testResults')).toBe(junitFile);
    expect(namedArg(junit!, 'allowEmptyResults')).toBe('false');
  });

  it('archives and publishes the report it writes', () => {
    const reportCommand = scripts
      .map((s) => s.step.script)
      .find((s) => /bin\/benchyard\.js report\b/.test(s));
    const html = flag(reportCommand ?? '', '--html')!;
    expect(html).toMatch(/\.html$/);
    const [archive] = jenkinsSteps('archiveArtifacts');
    const pattern = namedArg(archive!, 'artifacts')!;
    expect(html.startsWith(pattern.replace(/\*\*$/, ''))).toBe(true);
    const [publish] = jenkinsSteps('publishHTML');
    expect(path.join(namedArg(publish!, 'reportDir')!, namedArg(publish!, 'reportFiles')!)).toBe(html);
    // The report is written where the run failed too: in a post `always` of the stage.
    const stage = scripts.find((s) => s.step.script === reportCommand)!.stage;
    expect(
      stepsOf(stage.post.get('always') ?? []).some((s) => s.kind === 'sh' && s.script === reportCommand),
    ).toBe(true);
  });

  it('names every stage and reads parameters with a default in the shell (empty on a first build)', () => {
    for (const { stage } of stages) expect(firstString(stage.directive)?.text).toMatch(/\S/);
    const params = child(pipeline.directive, 'parameters')?.body ?? [];
    for (const p of params) {
      const name = namedArg(p, 'name')!;
      const used = scripts.filter(
        (s) => s.step.script.includes(`$${name}`) || s.step.script.includes(`\${${name}`),
      );
      for (const { step } of used) expect(step.script).toContain(`\${${name}:-`);
    }
  });
});

/**
 * A declarative pipeline's stages and steps, and one "build" of it on this machine: `sh`
 * steps run by `/bin/sh -xe` (as Jenkins' sh step runs them) in the order Jenkins would,
 * Jenkins' own steps (junit, archiveArtifacts, publishHTML) handed to the caller. Semantics
 * followed, from jenkins.io/doc/book/pipeline/syntax: a failed step fails its stage and the
 * stages after it are skipped; `post` runs after the stage, `always` first; a failed step in
 * a post condition ends that condition; `catchError` records the failure and goes on; several
 * `when` conditions must all hold. What this does not model (agents, locks, scripted blocks,
 * `when` conditions other than environment/not/allOf/anyOf) throws rather than being ignored.
 */
import { spawn } from 'node:child_process';
import {
  child,
  children,
  firstString,
  namedArg,
  parseJenkinsfile,
  type Directive,
  type Token,
} from './jenkinsfile.js';

export type Step =
  | { kind: 'sh'; script: string; gstring: boolean; line: number }
  | { kind: 'catchError'; steps: Step[]; line: number }
  | { kind: 'jenkins'; name: string; directive: Directive; line: number };

export interface Stage {
  name: string;
  directive: Directive;
  /** Literal `NAME = '…'` entries; anything else is kept as its first token. */
  environment: Map<string, Token | undefined>;
  steps: Step[];
  stages: Stage[];
  parallel: Stage[];
  post: Map<string, Step[]>;
}

export interface Pipeline {
  directive: Directive;
  environment: Map<string, Token | undefined>;
  stages: Stage[];
  post: Map<string, Step[]>;
}

/** Steps that belong to Jenkins or its plugins; the caller plays them. */
const JENKINS_STEPS = new Set(['junit', 'archiveArtifacts', 'publishHTML', 'echo']);
const POST_ORDER = ['always', 'aborted', 'failure', 'success', 'unsuccessful', 'cleanup'];

export function readPipeline(src: string): Pipeline {
  const pipeline = child(parseJenkinsfile(src), 'pipeline');
  if (!pipeline) throw new Error('no `pipeline { … }` block: not a declarative Jenkinsfile');
  return {
    directive: pipeline,
    environment: environmentOf(pipeline),
    stages: children(child(pipeline, 'stages'), 'stage').map(readStage),
    post: postOf(pipeline),
  };
}

function readStage(d: Directive): Stage {
  return {
    name: firstString(d)?.text ?? '?',
    directive: d,
    environment: environmentOf(d),
    steps: readSteps(child(d, 'steps')?.body ?? []),
    stages: children(child(d, 'stages'), 'stage').map(readStage),
    parallel: children(child(d, 'parallel'), 'stage').map(readStage),
    post: postOf(d),
  };
}

function readSteps(list: Directive[]): Step[] {
  return list.map((d): Step => {
    if (d.name === 'sh') {
      const script = firstString(d);
      if (!script) throw new Error(`line ${d.line}: sh without a string literal`);
      return { kind: 'sh', script: script.text, gstring: script.gstring === true, line: d.line };
    }
    if (d.name === 'catchError') return { kind: 'catchError', steps: readSteps(d.body ?? []), line: d.line };
    if (JENKINS_STEPS.has(d.name)) return { kind: 'jenkins', name: d.name, directive: d, line: d.line };
    throw new Error(`line ${d.line}: step '${d.name}' is not modelled here`);
  });
}

function environmentOf(d: Directive): Map<string, Token | undefined> {
  const env = new Map<string, Token | undefined>();
  for (const e of child(d, 'environment')?.body ?? []) env.set(e.name, e.args[1]);
  return env;
}

function postOf(d: Directive): Map<string, Step[]> {
  const post = new Map<string, Step[]>();
  for (const c of child(d, 'post')?.body ?? []) {
    if (!POST_ORDER.includes(c.name))
      throw new Error(`line ${c.line}: post condition '${c.name}' not modelled`);
    post.set(c.name, readSteps(c.body ?? []));
  }
  return post;
}

/** Every stage, depth first, in file order. */
export function allStages(p: Pipeline): Stage[] {
  const out: Stage[] = [];
  const walk = (s: Stage) => (out.push(s), [...s.stages, ...s.parallel].forEach(walk));
  p.stages.forEach(walk);
  return out;
}

/** Every step of a stage, its post conditions' included, catchError opened. */
export function stepsOf(steps: Step[]): Step[] {
  return steps.flatMap((s) => (s.kind === 'catchError' ? stepsOf(s.steps) : [s]));
}

export interface ShRun {
  stage: string;
  script: string;
  code: number;
  stdout: string;
  stderr: string;
}

export interface Build {
  result: 'SUCCESS' | 'FAILURE';
  sh: ShRun[];
  /** Stages not run: their `when` did not hold, or an earlier one failed. */
  skipped: string[];
}

export interface BuildOptions {
  cwd: string;
  /** The environment Jenkins and the agent give (BUILD_TAG, parameters, PATH …). */
  env: Record<string, string>;
  /** Values for `environment` entries the test replaces (the state folder, say). */
  override?: Record<string, string>;
  /** Plays a Jenkins step; false fails it. */
  jenkinsStep(name: string, d: Directive, env: Record<string, string>): boolean;
  timeoutMs?: number;
}

/** One build: stages in order, as Jenkins runs them. */
export async function runBuild(p: Pipeline, opts: BuildOptions): Promise<Build> {
  const build: Build = { result: 'SUCCESS', sh: [], skipped: [] };
  const env = withEnvironment(opts.env, p.environment, opts.override);
  for (const s of p.stages) await runStage(s, env, build, opts);
  await runPost(p.post, 'pipeline', env, build, opts);
  return build;
}

async function runStage(s: Stage, outer: Record<string, string>, b: Build, o: BuildOptions): Promise<void> {
  const env = withEnvironment(outer, s.environment, o.override);
  const when = child(s.directive, 'when');
  if (b.result === 'FAILURE' || (when && !holds(when.body ?? [], env))) {
    b.skipped.push(s.name);
    return;
  }
  if (!(await runSteps(s.steps, s.name, env, b, o))) b.result = 'FAILURE';
  for (const sub of [...s.stages, ...s.parallel]) await runStage(sub, env, b, o);
  await runPost(s.post, s.name, env, b, o);
}

async function runPost(
  post: Map<string, Step[]>,
  stage: string,
  env: Record<string, string>,
  b: Build,
  o: BuildOptions,
) {
  for (const cond of POST_ORDER) {
    const steps = post.get(cond);
    const runs =
      cond === 'always' ||
      cond === 'cleanup' ||
      (cond === 'success' && b.result === 'SUCCESS') ||
      ((cond === 'failure' || cond === 'unsuccessful') && b.result === 'FAILURE');
    if (steps && runs && !(await runSteps(steps, `${stage} post ${cond}`, env, b, o))) b.result = 'FAILURE';
  }
}

/** Runs steps until one fails; false where one did. */
async function runSteps(
  steps: Step[],
  stage: string,
  env: Record<string, string>,
  b: Build,
  o: BuildOptions,
) {
  for (const step of steps) {
    if (step.kind === 'catchError') {
      if (!(await runSteps(step.steps, stage, env, b, o))) b.result = 'FAILURE';
    } else if (step.kind === 'jenkins') {
      if (!o.jenkinsStep(step.name, step.directive, env)) return false;
    } else {
      if (step.gstring)
        throw new Error(`line ${step.line}: a GString sh script: Groovy would expand it first`);
      const run = await sh(step.script, o.cwd, env, o.timeoutMs ?? 120_000);
      b.sh.push({ stage, script: step.script, ...run });
      if (run.code !== 0) return false;
    }
  }
  return true;
}

function holds(conditions: Directive[], env: Record<string, string>): boolean {
  return conditions.every((c) => {
    if (c.name === 'not') return !holds(c.body ?? [], env);
    if (c.name === 'allOf') return holds(c.body ?? [], env);
    if (c.name === 'anyOf') return (c.body ?? []).some((x) => holds([x], env));
    if (c.name === 'environment') return env[namedArg(c, 'name') ?? ''] === namedArg(c, 'value');
    throw new Error(`line ${c.line}: when condition '${c.name}' not modelled`);
  });
}

function withEnvironment(
  outer: Record<string, string>,
  entries: Map<string, Token | undefined>,
  override: Record<string, string> = {},
): Record<string, string> {
  const env = { ...outer };
  for (const [name, value] of entries) {
    if (name in override) env[name] = override[name]!;
    else if (value?.kind === 'string' && !value.gstring) env[name] = value.text;
    else throw new Error(`environment ${name}: not a literal; give it in override`);
  }
  return env;
}

function sh(script: string, cwd: string, env: Record<string, string>, timeoutMs: number) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const p = spawn('/bin/sh', ['-xe', '-c', script], { cwd, env, timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

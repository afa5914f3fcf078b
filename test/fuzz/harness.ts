/**
 * Runs fuzz cases through the CLI and judges them. Most run in this process through
 * `main()` (the same dispatch, error reporting and exit codes a user gets, without a
 * process start per case); a few run as real `node bin/benchyard.js` processes, whose
 * CPU time and peak memory are measured (test/fuzz/usage.mjs).
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { main } from '../../src/cli/main.js';
import { BIN } from '../helpers/cli.js';
import { exampleMatrices, ROOT } from '../helpers/catalog.js';
import { mutate, type Op } from './mutations.js';

/** What every case must respect (issue 15): exit 0 or 2, no stack, under 2 s and 256 MB. */
export const LIMITS = { ms: 2000, rssBytes: 256 * 2 ** 20 } as const;

export interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
  /** Real processes only. */
  cpuMs?: number;
  maxRssBytes?: number;
}

/** An inline definition with inputs, devices and scores: more of the schema than the examples. */
const INLINE_SEED = `name: inline
repetitions: 2
targets: [{ name: here, provider: local }]
benchmarks:
  - name: mine
    inputs: ./own-benchmark
    params: { n: [1, 2], s: [a, b] }
    benchmark:
      name: mine
      image: alpine:3
      command: [sh, -c, 'echo "n=$PARAM_N s=$PARAM_S"', '{{n}}']
      params:
        n: { type: integer, default: 1, min: 0, max: 100 }
        s: { type: string, default: a, enum: [a, b] }
      scores:
        - { name: n, unit: x, direction: higher, regex: 'n=(\\d+)' }
        - { name: j, unit: x, direction: lower, json: '$.a.b' }
      requires: { devices: [/dev/null] }
      artifacts: [/out/result.json]
`;

export interface Seeds {
  dir: string;
  matrices: string[];
  definitions: string[];
}

/** The examples and built-in definitions, copied to a scratch folder (folder refs resolve). */
export function prepareSeeds(): Seeds {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'by-fuzz-'));
  cpSync(path.join(ROOT, 'examples'), path.join(dir, 'examples'), { recursive: true });
  const examples = exampleMatrices();
  const definitions = [
    ...readdirSync(path.join(ROOT, 'benchmarks')).map((b) =>
      path.join(ROOT, 'benchmarks', b, 'benchmark.yaml'),
    ),
    path.join(ROOT, 'examples/own-benchmark/benchmark.yaml'),
  ];
  return {
    dir,
    matrices: [...examples.map((f) => readFileSync(path.join(ROOT, 'examples', f), 'utf8')), INLINE_SEED],
    definitions: definitions.map((f) => readFileSync(f, 'utf8')),
  };
}

export interface FuzzCase {
  kind: 'matrix' | 'definition';
  seed: number;
  ops: Op[];
  /** Which command: plan, plan --json, benchmark validate, benchmark list --matrix. */
  command: number;
}

let counter = 0;

/** Writes the case's file and returns the CLI arguments that read it. */
export function materialize(seeds: Seeds, c: FuzzCase): string[] {
  const n = counter++;
  if (c.kind === 'definition') {
    const folder = path.join(seeds.dir, 'defs', String(n));
    mkdirSync(folder, { recursive: true });
    writeFileSync(
      path.join(folder, 'benchmark.yaml'),
      mutate(seeds.definitions[c.seed % seeds.definitions.length]!, c.ops),
    );
    return ['benchmark', 'validate', folder];
  }
  const file = path.join(seeds.dir, 'examples', `fuzz-${n}.yaml`);
  writeFileSync(file, mutate(seeds.matrices[c.seed % seeds.matrices.length]!, c.ops));
  const commands = [
    ['plan', file],
    ['plan', '--json', file],
    ['benchmark', 'validate', file],
    ['benchmark', 'list', '--matrix', file],
  ];
  return commands[c.command % commands.length]!;
}

/** `main(argv)` in this process, its output captured. */
export async function runInProcess(argv: string[]): Promise<Outcome> {
  let stdout = '';
  let stderr = '';
  const out = process.stdout.write;
  const err = process.stderr.write;
  const capture =
    (append: (s: string) => void) =>
    (chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
      append(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      cb?.();
      return true;
    };
  process.stdout.write = capture((s) => (stdout += s)) as typeof process.stdout.write;
  process.stderr.write = capture((s) => (stderr += s)) as typeof process.stderr.write;
  const start = performance.now();
  try {
    const code = await main(argv);
    return { code, stdout, stderr, ms: performance.now() - start };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}

/** `node bin/benchyard.js argv` with its CPU time and peak memory (needs `npm run build`). */
export function runProcess(argv: string[], timeoutMs = 20_000): Promise<Outcome> {
  const usageFile = path.join(os.tmpdir(), `by-usage-${process.pid}-${counter++}.json`);
  const start = performance.now();
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', path.join(ROOT, 'test/fuzz/usage.mjs'), BIN, ...argv],
      {
        env: { ...process.env, CI: 'true', BENCHYARD_FUZZ_USAGE: usageFile },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const ms = performance.now() - start;
      let usage: { cpuMs?: number; maxRssBytes?: number } = {};
      try {
        usage = JSON.parse(readFileSync(usageFile, 'utf8')) as typeof usage;
      } catch {
        // killed before it could write: the exit code says so
      }
      resolve({ code: code ?? (signal ? -1 : -2), stdout, stderr, ms, ...usage });
    });
  });
}

const STACK_FRAME = /^\s+at .+(:\d+:\d+\)?|\(native\)|\(<anonymous>\))$/m;
// Terminal output may hold newlines, never other control characters (issue 15, defect 8).
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

/** Why an outcome breaks the rules; empty when it keeps them. */
export function violations(o: Outcome, opts: { json?: boolean } = {}): string[] {
  const out: string[] = [];
  if (o.code !== 0 && o.code !== 2) out.push(`exit ${o.code}`);
  if (/internal error/.test(o.stderr) || STACK_FRAME.test(o.stderr) || STACK_FRAME.test(o.stdout))
    out.push('a stack trace');
  if (o.cpuMs === undefined ? o.ms > LIMITS.ms : o.cpuMs > LIMITS.ms)
    out.push(`${Math.round(o.cpuMs ?? o.ms)} ms`);
  if (o.maxRssBytes !== undefined && o.maxRssBytes > LIMITS.rssBytes)
    out.push(`${Math.round(o.maxRssBytes / 2 ** 20)} MiB`);
  if (CONTROL.test(o.stderr) || (!opts.json && CONTROL.test(o.stdout)))
    out.push('a control character on the terminal');
  return out;
}

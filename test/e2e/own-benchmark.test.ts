import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RESULTS_INDEX } from '../../src/store/index.js';
import { ROOT } from '../helpers/catalog.js';
import { cli } from '../helpers/cli.js';
import { ES_URL, esClient, waitForCount } from '../helpers/services.js';

const es = esClient();
afterAll(() => es.close());
const work = mkdtempSync(path.join(os.tmpdir(), 'by-own-'));

interface Result {
  benchmark: string;
  status: string;
  params: Record<string, unknown>;
  scores: { name: string; value: number; unit: string; direction: string }[];
  artifacts: { path: string; location: string; bytes: number }[];
  imageDigest: string;
}

describe('bring your own benchmark', () => {
  it("runs the guide's example: a Dockerfile folder and an inline definition on an existing image", async () => {
    // docs/benchmarks.md shows examples/own-benchmark.yaml verbatim: this test runs that file.
    const guide = readFileSync(path.join(ROOT, 'docs/benchmarks.md'), 'utf8');
    const example = readFileSync(path.join(ROOT, 'examples/own-benchmark.yaml'), 'utf8');
    expect(guide).toContain(example.trim());

    // From a temp folder, as a user's own checkout would be.
    cpSync(path.join(ROOT, 'examples'), path.join(work, 'examples'), { recursive: true });
    const res = await cli(['run', 'examples/own-benchmark.yaml', '--es', ES_URL, '--json'], { cwd: work });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toMatch(
      /^building benchyard-build\/gzip-throughput:latest from .*examples\/own-benchmark for target 'here'$/m,
    );
    const out = JSON.parse(res.stdout) as { run: { id: string }; results: Result[] };
    expect(out.results).toHaveLength(8);
    expect(out.results.every((r) => r.status === 'passed')).toBe(true);

    const gzip = out.results.find((r) => r.benchmark === 'gzip-throughput')!;
    const score = (name: string) => gzip.scores.find((s) => s.name === name);
    expect(score('throughput')).toMatchObject({ unit: 'MiB/s', direction: 'higher' }); // regex on stdout
    expect(score('ratio')).toMatchObject({ unit: 'ratio', direction: 'lower' }); // JSONPath on a file
    expect(score('ratio')!.value).toBeGreaterThan(0.5);
    expect(score('ratio')!.value).toBeLessThan(1);
    expect(score('input')).toEqual({ name: 'input', value: 8, unit: 'MiB', direction: 'higher' }); // @benchyard line
    expect(gzip.imageDigest).toMatch(/^sha256:/);
    const artifact = gzip.artifacts[0]!;
    expect(artifact.path).toBe('/out/result.json');
    expect(JSON.parse(readFileSync(artifact.location, 'utf8')).ratio).toBeCloseTo(score('ratio')!.value, 4);

    const stress = out.results.filter((r) => r.benchmark === 'stress-cpu');
    expect(stress.map((r) => r.params.method).sort()).toEqual(['fft', 'fft', 'int64', 'int64']);
    expect(stress[0]!.scores).toEqual([
      { name: 'bogo_ops', value: expect.any(Number), unit: 'ops/s', direction: 'higher' },
    ]);

    // `results --json` lists the artifacts; Elasticsearch has the scores with units and directions.
    const stored = JSON.parse((await cli(['results', '--json'], { cwd: work })).stdout) as {
      results: Result[];
    };
    expect(stored.results.find((r) => r.benchmark === 'gzip-throughput')!.artifacts[0]!.path).toBe(
      '/out/result.json',
    );
    expect(await waitForCount(es, RESULTS_INDEX, { term: { 'run.id': out.run.id } }, 8)).toBe(8);
    const hits = await es.search({
      index: RESULTS_INDEX,
      query: {
        bool: {
          filter: [{ term: { 'run.id': out.run.id } }, { term: { 'benchmark.name': 'gzip-throughput' } }],
        },
      },
    });
    const doc = hits.hits.hits[0]!._source as { scores: Result['scores']; artifacts: Result['artifacts'] };
    expect(doc.scores.map((s) => [s.name, s.unit, s.direction])).toEqual([
      ['throughput', 'MiB/s', 'higher'],
      ['ratio', 'ratio', 'lower'],
      ['input', 'MiB', 'higher'],
    ]);
    expect(doc.artifacts[0]!.path).toBe('/out/result.json');
  });

  it('passes a param with shell metacharacters as one literal argument (and as PARAM_*), never through a shell', async () => {
    const text = `a b;$(touch /tmp/pwned)|'"*&\`id\``;
    const file = path.join(work, 'literal.yaml');
    writeFileSync(
      file,
      `name: literal
repetitions: 1
targets: [{ name: here, provider: local }]
benchmarks:
  - benchmark:
      name: echo-arg
      image: benchyard/bench-tools:1
      network: none
      command: ["sh", "-c", 'printf "arg=%s env=%s args=%s\\\\n" "\${#1}" "\${#PARAM_TEXT}" "$#"; test ! -e /tmp/pwned', "sh", "{{text}}"]
      params: { text: { type: string } }
      scores:
        - { name: arg_len, unit: chars, direction: higher, regex: 'arg=(\\d+)' }
        - { name: env_len, unit: chars, direction: higher, regex: 'env=(\\d+)' }
        - { name: args, unit: count, direction: higher, regex: 'args=(\\d+)' }
    params:
      text: ${JSON.stringify(text)}
`,
    );
    const res = await cli(['run', file, '--json', '--state', path.join(work, 'literal-state')], {
      cwd: work,
    });
    expect(res.code, res.stderr).toBe(0);
    const [r] = (JSON.parse(res.stdout) as { results: Result[] }).results;
    expect(Object.fromEntries(r!.scores.map((s) => [s.name, s.value]))).toEqual({
      arg_len: text.length,
      env_len: text.length,
      args: 1,
    });
  });

  it("mounts the entry's input folder read-only at /in", async () => {
    const dir = path.join(work, 'inputs-case');
    mkdirSync(path.join(dir, 'data'), { recursive: true });
    writeFileSync(path.join(dir, 'data', 'words.txt'), 'one two three\n');
    const matrix = (inputs: string) => `name: inputs
repetitions: 1
targets: [{ name: here, provider: local }]
benchmarks:
  - benchmark:
      name: read-input
      image: benchyard/bench-tools:1
      network: none
      command: ["sh", "-c", 'echo "bytes=$(wc -c < /in/words.txt)"; if touch /in/x 2>/dev/null; then echo writable=1; else echo writable=0; fi']
      scores:
        - { name: bytes, unit: B, direction: higher, regex: 'bytes=(\\d+)' }
        - { name: writable, unit: bool, direction: lower, regex: 'writable=(\\d)' }
    inputs: ${inputs}
`;
    writeFileSync(path.join(dir, 'm.yaml'), matrix('./data'));
    const res = await cli(['run', 'm.yaml', '--json'], { cwd: dir });
    expect(res.code, res.stderr).toBe(0);
    const [r] = (JSON.parse(res.stdout) as { results: Result[] }).results;
    expect(r!.scores.map((x) => [x.name, x.value])).toEqual([
      ['bytes', 14],
      ['writable', 0],
    ]);

    writeFileSync(path.join(dir, 'bad.yaml'), matrix('./missing'));
    const bad = await cli(['run', 'bad.yaml'], { cwd: dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/bad\.yaml:13:13: inputs: no such folder .*missing/);
  });

  it('validate --sample-output shows what the parsers extract, and names a score it cannot find', async () => {
    const dir = path.join(ROOT, 'examples/own-benchmark');
    const sample = path.join(work, 'sample.txt');
    writeFileSync(
      sample,
      '@benchyard metric=input_mib value=4 unit=MiB\nthroughput: 51.5 MiB/s\n{"ratio": 0.75}\n',
    );
    const ok = await cli(['benchmark', 'validate', dir, '--sample-output', sample]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/gzip-throughput: valid \(2 params, 3 scores\)/);
    expect(ok.stdout).toMatch(/gzip-throughput\.throughput = 51\.5 MiB\/s/);
    expect(ok.stdout).toMatch(/gzip-throughput\.ratio = 0\.75 ratio/);
    expect(ok.stdout).toMatch(/gzip-throughput\.input = 4 MiB/);

    writeFileSync(sample, 'throughput: fast\n');
    const bad = await cli(['benchmark', 'validate', dir, '--sample-output', sample]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/score not found: throughput \(regex .*\)/);
  });

  it('validate --sample-output refuses a FIFO at once (it would block for ever)', async () => {
    const fifo = path.join(work, 'sample.fifo');
    execFileSync('mkfifo', [fifo]);
    const t0 = Date.now();
    const r = await cli([
      'benchmark',
      'validate',
      path.join(ROOT, 'examples/own-benchmark'),
      '--sample-output',
      fifo,
    ]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/sample\.fifo: cannot read: not a regular file/);
    expect(Date.now() - t0).toBeLessThan(20_000);
  });

  it.each([
    ['unknown key', 'colour: red\n', /benchmark\.yaml:\d+:1: unknown key 'colour'/],
    [
      'regex that does not compile',
      "scores: [{ name: s, unit: u, direction: higher, regex: '([0-9' }]\n",
      /benchmark\.yaml:\d+:\d+: not a valid regular expression/,
    ],
    [
      'JSON path that cannot match',
      "scores: [{ name: s, unit: u, direction: higher, json: 'latency.p99' }]\n",
      /benchmark\.yaml:\d+:\d+: not a JSONPath/,
    ],
    [
      'default out of range',
      'params: { n: { type: integer, default: 0, min: 1 } }\n',
      /benchmark\.yaml:\d+:\d+: default of 'n': 0 is below the minimum 1/,
    ],
    [
      'undeclared param in command',
      'command: ["run", "{{nope}}"]\n',
      /benchmark\.yaml:\d+:\d+: placeholder '\{\{nope\}\}' names no declared parameter/,
    ],
    [
      'output file outside the container',
      "scores: [{ name: s, unit: u, direction: higher, json: '$.a', from: '../etc/x.json' }]\n",
      /benchmark\.yaml:\d+:\d+: .*absolute path inside the container/,
    ],
    [
      'artifact with ..',
      'artifacts: ["/out/../../etc/passwd"]\n',
      /benchmark\.yaml:\d+:\d+: must be an absolute path inside the container, without '\.\.'/,
    ],
  ])(
    'a bad definition (%s) is exit 2 with file:line:col, for validate and for run',
    async (name, extra, pattern) => {
      const dir = path.join(work, `bad-${name.replace(/\W+/g, '-')}`);
      mkdirSync(dir, { recursive: true });
      const base: Record<string, string> = {
        name: 'name: bad\n',
        image: 'image: benchyard/bench-tools:1\n',
        command: 'command: ["true"]\n',
        scores: "scores: [{ name: s, unit: u, direction: higher, regex: 'x' }]\n",
      };
      const key = extra.split(':')[0]!;
      writeFileSync(
        path.join(dir, 'benchmark.yaml'),
        Object.entries(base)
          .filter(([k]) => k !== key)
          .map(([, v]) => v)
          .join('') + extra,
      );
      const validate = await cli(['benchmark', 'validate', dir]);
      expect(validate.code).toBe(2);
      expect(validate.stderr.split('\n')[0]).toMatch(pattern);
      expect(validate.stderr.startsWith(path.join(dir, 'benchmark.yaml'))).toBe(true);

      const matrix = path.join(dir, 'm.yaml');
      writeFileSync(
        matrix,
        `name: m\ntargets: [{name: h, provider: local}]\nbenchmarks: [{ benchmark: ./ }]\n`,
      );
      const run = await cli(['run', matrix, '--state', path.join(dir, 'state')], { cwd: dir });
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(pattern);
      expect(existsSync(path.join(dir, 'state'))).toBe(false);
    },
  );
});

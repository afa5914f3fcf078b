import { describe, expect, it } from 'vitest';
import { configProblems, loadMatrixText } from '../helpers/catalog.js';

const load = loadMatrixText;
const problems = configProblems;

const GOOD = `name: local-cpu
repetitions: 2
concurrency: 2
metrics: { interval: 250ms }
targets:
  - name: here
    provider: local
benchmarks:
  - benchmark: sysbench-cpu
    params:
      threads: [1, 2]
      time: 5
    timeout: 1m
store:
  elasticsearch: { url: http://127.0.0.1:9200 }
`;

describe('matrix loading', () => {
  it('normalises a valid matrix: scalars become axes of one, durations become ms', async () => {
    const m = await load(GOOD);
    expect(m).toMatchObject({
      name: 'local-cpu',
      repetitions: 2,
      concurrency: 2,
      metricsIntervalMs: 250,
      elasticsearchUrl: 'http://127.0.0.1:9200',
      targets: [{ name: 'here', provider: 'local', options: {} }],
      entries: [
        { name: 'sysbench-cpu', axes: { threads: [1, 2], time: [5] }, timeoutMs: 60_000, targets: ['here'] },
      ],
    });
  });

  it('applies defaults: 5 repetitions, 1 at a time, 1 s sampling of containers, host and GPUs, not quiet', async () => {
    const m = await load('name: a\ntargets: [{name: h, provider: local}]\nbenchmarks: [{benchmark: fio}]\n');
    expect([m.repetitions, m.concurrency, m.metricsIntervalMs]).toEqual([5, 1, 1000]);
    expect(m.metrics).toEqual({ quiet: false, collector: 'auto', host: true, gpu: true });
  });

  it('reads the metrics block and refuses an interval outside 100ms–60s or an unknown collector', async () => {
    const m = await load(
      'name: a\nmetrics: {interval: 100ms, quiet: true, collector: agent, gpu: false}\ntargets: [{name: h, provider: local}]\nbenchmarks: [{benchmark: fio}]\n',
    );
    expect(m.metricsIntervalMs).toBe(100);
    expect(m.metrics).toEqual({ quiet: true, collector: 'agent', host: true, gpu: false });
    const bad = await problems(
      'name: a\nmetrics: {interval: 50ms, collector: cadvisor}\ntargets: [{name: h, provider: local}]\nbenchmarks: [{benchmark: fio}]\n',
    );
    expect(bad.join('\n')).toMatch(/2:\d+: .*interval/);
    expect(bad.join('\n')).toMatch(/2:\d+: .*(auto|agent).*collector|collector/);
  });

  it('reports every problem in one pass, each as file:line:col with its path, sorted by position', async () => {
    const lines = await problems(`name: x
targets:
  - name: here
    provider: gcp
  - name: here
    provider: local
benchmarks:
  - benchmark: sysbench-cpu
    params: { threads: [0, 2], bogus: 1 }
    colour: red
  - benchmark: nope
extra: 1
`);
    expect(lines).toEqual([
      'm.yaml:4:15: unsupported provider "gcp" (supported: local, ssh, aws, softlayer, slurm, kubernetes) (at targets[0].provider)',
      "m.yaml:5:5: duplicate target name 'here' (first at line 3) (at targets[1])",
      "m.yaml:9:25: parameter 'threads': 0 is below the minimum 1 (at benchmarks[0].params.threads[0])",
      "m.yaml:9:32: parameter 'bogus' is not declared by benchmark 'sysbench-cpu' (declared: threads, time, max_prime) (at benchmarks[0].params.bogus)",
      "m.yaml:10:5: unknown key 'colour' (at benchmarks[0].colour)",
      "m.yaml:11:16: unknown benchmark 'nope' (known: fio, sysbench-cpu, sysbench-memory) (at benchmarks[1].benchmark)",
      "m.yaml:12:1: unknown key 'extra' (at extra)",
    ]);
  });

  it("checks each provider's target options, naming what is missing or wrong", async () => {
    const lines = await problems(`name: x
targets:
  - name: gpu
    provider: aws
    regions: [us-east-1]
    ami: ubuntu
  - name: lab
    provider: ssh
    hosts: []
    ssh: { hostKeyCheck: maybe }
benchmarks:
  - benchmark: fio
`);
    expect(lines).toEqual([
      "m.yaml:3:5: missing required key 'instanceType' (at targets[0])",
      'm.yaml:6:10: an AMI id (ami-…), or a map of region → AMI id (at targets[0].ami)',
      expect.stringMatching(/^m\.yaml:9:12: .*(at least 1|>=1|too small).* \(at targets\[1\]\.hosts\)$/i),
      'm.yaml:10:26: Invalid option: expected one of "strict"|"off" (at targets[1].ssh.hostKeyCheck)',
    ]);
  });

  it('takes a cloud target count as a number or an elastic { min, max } with an idle release time', async () => {
    const aws = (count: string) => `name: x
targets:
  - name: gpu
    provider: aws
    regions: [us-east-1]
    instanceType: g4dn.xlarge
    ami: ami-0123456789abcdef0
    count: ${count}
    idleRelease: 90s
benchmarks:
  - benchmark: fio
`;
    const elastic = (await load(aws('{min: 1, max: 4}'))).targets[0]!;
    expect(elastic.options.count).toEqual({ min: 1, max: 4 });
    expect(elastic.idleReleaseMs).toBe(90_000);
    expect((await load(aws('2'))).targets[0]!.options.count).toBe(2);
    expect(await problems(aws('{min: 3, max: 2}'))).toEqual([
      'm.yaml:8:18: min must not exceed max (at targets[0].count.min)',
    ]);
    expect(await problems(aws('lots'))).toEqual([
      'm.yaml:8:12: a number of machines (1-256) or { min, max } (at targets[0].count)',
    ]);
  });

  it.each([
    ['YAML syntax', 'name: [unclosed\n', /^m\.yaml:2:1: YAML: Flow sequence/],
    ['duplicate YAML key', 'name: a\nname: b\n', /^m\.yaml:2:1: YAML: duplicate key 'name'/],
    ['empty file', '', /^m\.yaml:1:1: the matrix file is empty/],
    ['not a mapping', '- a\n- b\n', /^m\.yaml:1:1: .*expected object/],
    [
      'missing targets',
      'name: a\nbenchmarks: [{benchmark: fio}]\n',
      /^m\.yaml:1:1: missing required key 'targets'/,
    ],
    [
      'wrong type',
      'name: a\nrepetitions: three\ntargets: [{name: h, provider: local}]\nbenchmarks: [{benchmark: fio}]\n',
      /^m\.yaml:2:14: .*expected number, received string \(at repetitions\)/,
    ],
    [
      'bad duration',
      'name: a\nmetrics: {interval: soon}\ntargets: [{name: h, provider: local}]\nbenchmarks: [{benchmark: fio}]\n',
      /^m\.yaml:2:21: 'soon' is not a duration/,
    ],
    [
      'interval out of range',
      'name: a\nmetrics: {interval: 10ms}\ntargets: [{name: h, provider: local}]\nbenchmarks: [{benchmark: fio}]\n',
      /out of range \(100ms to 60000ms\)/,
    ],
    [
      'string param against enum',
      'name: a\ntargets: [{name: h, provider: local}]\nbenchmarks: [{benchmark: fio, params: {ioengine: mmapx}}]\n',
      /^m\.yaml:3:50: parameter 'ioengine': 'mmapx' is not one of/,
    ],
    [
      'empty axis',
      'name: a\ntargets: [{name: h, provider: local}]\nbenchmarks: [{benchmark: fio, params: {iodepth: []}}]\n',
      /an axis needs at least one value/,
    ],
    [
      'unknown entry target',
      'name: a\ntargets: [{name: h, provider: local}]\nbenchmarks: [{benchmark: fio, targets: [g]}]\n',
      /unknown target 'g' \(targets: h\)/,
    ],
    [
      'duplicate entries',
      'name: a\ntargets: [{name: h, provider: local}]\nbenchmarks: [{benchmark: fio}, {benchmark: fio}]\n',
      /^m\.yaml:3:32: duplicate benchmark entry name 'fio' .*distinct 'name'/,
    ],
    [
      'bad name',
      'name: "Big Name"\ntargets: [{name: h, provider: local}]\nbenchmarks: [{benchmark: fio}]\n',
      /^m\.yaml:1:7: must be/,
    ],
    [
      'bad es url',
      'name: a\ntargets: [{name: h, provider: local}]\nbenchmarks: [{benchmark: fio}]\nstore: {elasticsearch: {url: ftp://x}}\n',
      /must be an http\(s\) URL/,
    ],
  ])('%s', async (_name, text, pattern) => {
    const lines = await problems(text);
    expect(lines[0]).toMatch(pattern);
  });
});

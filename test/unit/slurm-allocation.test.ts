/**
 * An allocation as containers get it (its CPUs, memory and only its GPUs: containers on
 * the node's engine are outside the job's cgroup), what placement knows of a slurm target
 * before anything is submitted, and the target's validation.
 */
import { describe, expect, it } from 'vitest';
import { NO_REQUIREMENTS, type ContainerSpec } from '../../src/core/index.js';
import { allocationOf, confine, parseInside, type Allocation } from '../../providers/slurm/allocation.js';
import { parseJobDetails, type NodeInfo } from '../../providers/slurm/commands.js';
import { describeNodes, nodeFits } from '../../providers/slurm/nodes.js';
import { slurmTarget } from '../../src/config/targets/slurm.js';
import { unmetRequirements } from '../../src/plan/requirements.js';

const spec = (gpu?: number | 'all'): ContainerSpec => ({
  name: 'c',
  image: 'sha256:1',
  argv: [],
  labels: {},
  network: 'none',
  access: { ...NO_REQUIREMENTS, ...(gpu !== undefined ? { gpu: { count: gpu } } : {}) },
  gpus: [{ model: 'x', uuid: 'GPU-1' }],
});

const alloc: Allocation = {
  jobId: '7',
  node: 'h2',
  cpus: '2-3',
  memoryBytes: 2 << 30,
  gpus: [1, 3],
  gres: [],
  gpuFiles: new Map([
    [1, '/dev/fakegpu5'],
    [3, '/dev/fakegpu7'],
  ]),
};

describe('a container on an allocation', () => {
  it('gets its CPUs and memory whatever it asks', () => {
    expect(confine(spec(), alloc, undefined)).toMatchObject({ cpuset: '2-3', memoryBytes: 2 << 30 });
  });

  it('through the NVIDIA runtime: the allocated GPU ids, the first `count` of them', () => {
    const out = confine(spec(1), alloc, undefined);
    expect(out.access?.gpu).toEqual({ count: 1, ids: ['1'] });
    expect(out.gpus).toBeUndefined();
    expect(confine(spec('all'), alloc, undefined).access?.gpu?.ids).toEqual(['1', '3']);
  });

  it("as device nodes: the files the node's gres.conf names, or a path per index", () => {
    const byGres = confine(spec(2), alloc, 'gres');
    expect(byGres.access?.gpu).toBeUndefined();
    expect(byGres.access?.devices.map((d) => d.host)).toEqual(['/dev/fakegpu5', '/dev/fakegpu7']);
    expect(confine(spec(1), alloc, '/dev/nvidia{index}').access?.devices).toEqual([
      { host: '/dev/nvidia1', container: '/dev/nvidia1', permissions: 'rwm' },
    ]);
  });

  it('asking more GPUs than the job was given fails, saying what to set', () => {
    expect(() => confine(spec(3), alloc, undefined)).toThrow(
      /needs 3 GPUs; Slurm job 7 on h2 was given 2 \(set the target's gres/,
    );
    expect(() => confine(spec(1), { ...alloc, gpus: [] }, undefined)).toThrow(/was given 0/);
  });

  it("what the job sees inside wins over scontrol's CPU_IDs (Slurm's abstract ids)", () => {
    const job = parseJobDetails(
      'JobId=9 JobState=RUNNING Nodes=h1 CPU_IDs=0-1 Mem=1024 GRES=gpu:fake:1(IDX:0)',
    )!;
    expect(allocationOf(job)).toMatchObject({ cpus: '0-1', gpus: [0], memoryBytes: 1024 << 20 });
    expect(allocationOf(job, parseInside('cpus=1\ngpus=1\n'))).toMatchObject({ cpus: '1', gpus: [1] });
    expect(parseInside('')).toBeUndefined();
    expect(parseInside('cpus=$(rm -rf /)\n')).toEqual({});
  });
});

const node = (name: string, over: Partial<NodeInfo> = {}): NodeInfo => ({
  name,
  address: name,
  state: 'idle',
  cpus: 8,
  memoryMb: 1000,
  gres: [{ name: 'gpu', type: 'a100', count: 4 }],
  features: ['ib'],
  ...over,
});

describe('placement on a slurm target', () => {
  it('one allocation has the GPUs the target asks for, where a node has them', () => {
    const facts = describeNodes([node('n1')], { gres: 'gpu:a100:2' });
    expect(facts.gpus).toEqual([{ model: 'a100', count: 2 }]);
    expect(unmetRequirements({ ...NO_REQUIREMENTS, gpu: { count: 2, model: 'A100' } }, facts)).toEqual([]);
    expect(unmetRequirements({ ...NO_REQUIREMENTS, gpu: { count: 4 } }, facts)).toEqual([
      'needs 4 GPUs; has 2× a100',
    ]);
    expect(describeNodes([node('n1')], { gres: 'gpu:a100:8' }).gpus).toEqual([]);
    // Without gres, a holder asks for what the cells need: up to what the largest node has.
    expect(
      describeNodes([node('n1'), node('n2', { gres: [{ name: 'gpu', type: 'a100', count: 8 }] })], {}).gpus,
    ).toEqual([{ model: 'a100', count: 8 }]);
  });

  it('nodes that are down, excluded or lack the features are not counted', () => {
    expect(nodeFits(node('n1'), {})).toBe(true);
    expect(nodeFits(node('n1', { state: 'down*' }), {})).toBe(false);
    expect(nodeFits(node('n1', { state: 'drained' }), {})).toBe(false);
    expect(nodeFits(node('n1'), { exclude: 'n0,n1' })).toBe(false);
    expect(nodeFits(node('n1'), { constraint: 'ib&nvlink' })).toBe(false);
    expect(nodeFits(node('n1'), { constraint: 'ib' })).toBe(true);
    // Slurm's full grammar is Slurm's to judge.
    expect(nodeFits(node('n1'), { constraint: '[rack1|rack2]' })).toBe(true);
  });
});

describe('slurm target options', () => {
  const base = { login: { host: 'login1' }, partition: 'gpu' };

  it('defaults: exclusive, one node, a 2 h limit', () => {
    expect(slurmTarget.parse(base)).toMatchObject({ exclusive: true, nodes: 1, timeLimit: 7_200_000 });
  });

  it('refuses what Slurm or the shell would misread, saying what is expected', () => {
    const bad = (o: object) => slurmTarget.safeParse({ ...base, ...o }).error?.issues[0]?.message;
    expect(bad({ partition: 'gpu; rm -rf /' })).toMatch(/a Slurm name/);
    expect(bad({ gres: 'two gpus' })).toMatch(/gpu:a100:2/);
    expect(bad({ cpus: 4 })).toMatch(/exclusive: false/);
    expect(bad({ timeLimit: '10s' })).toMatch(/out of range/);
    expect(bad({ gpuDevices: '/dev/nvidia0' })).toMatch(/\{index\}/);
    expect(bad({ login: {} })).toBeDefined();
  });
});

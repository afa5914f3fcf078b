import { describe, expect, it } from 'vitest';
import type { TargetFacts } from '../../src/core/index.js';
import { inDriverRange, placeByRequirements, planMatrix, unmetRequirements } from '../../src/plan/index.js';
import { builtinCatalog, configProblems, loadMatrixText } from '../helpers/catalog.js';

const matrix = (requires: string) => `name: req
targets:
  - name: here
    provider: local
benchmarks:
  - benchmark:
      name: probe
      image: benchyard/bench-tools:1
      command: [nvidia-smi]
      requires: ${requires}
`;

async function load(text: string) {
  return planMatrix(await loadMatrixText(text), await builtinCatalog());
}

const problems = configProblems;

describe('requires: what a benchmark needs from its machine', () => {
  it('reads GPUs (true, a count, or a block), FPGA devices, devices in Docker notation, cgroup rules', async () => {
    const plan = await load(
      matrix(
        `{gpu: {count: 2, model: "K80|V100|T4|H100", driver: ">=450 <=470"}, fpga: {vendor: xilinx, devices: [/dev/xdma0_user, "/dev/xdma0_h2c_0:/dev/h2c:rw"]}, devices: [{path: /dev/dri/renderD128, permissions: r}], deviceCgroupRules: ["c 195:* rwm"]}`,
      ),
    );
    expect(plan.cells[0]!.requires).toEqual({
      gpu: { count: 2, model: 'K80|V100|T4|H100', driver: '>=450 <=470' },
      fpga: {
        vendor: 'xilinx',
        devices: [
          { host: '/dev/xdma0_user', container: '/dev/xdma0_user', permissions: 'rwm' },
          { host: '/dev/xdma0_h2c_0', container: '/dev/h2c', permissions: 'rw' },
        ],
      },
      devices: [{ host: '/dev/dri/renderD128', container: '/dev/dri/renderD128', permissions: 'r' }],
      deviceCgroupRules: ['c 195:* rwm'],
      privileged: false,
    });
    expect((await load(matrix('{gpu: true}'))).cells[0]!.requires.gpu).toEqual({ count: 1 });
    expect((await load(matrix('{gpu: 4}'))).cells[0]!.requires.gpu).toEqual({ count: 4 });
  });

  it('names what is wrong, with the line', async () => {
    expect(await problems(matrix('{devices: [/tmp/x]}'))).toEqual([
      "m.yaml:10:28: '/tmp/x' is not a device: /dev/<name>[:/dev/<in container>[:rwm]] (at benchmarks[0].benchmark.requires.devices[0])",
    ]);
    expect(await problems(matrix('{gpu: {driver: "new"}}'))).toEqual([
      "m.yaml:10:32: a driver range such as '>=450 <=470' (at benchmarks[0].benchmark.requires.gpu.driver)",
    ]);
    expect(await problems(matrix('{deviceCgroupRules: ["c 195 rwm"]}'))).toEqual([
      "m.yaml:10:38: a rule such as 'c 195:* rwm' (at benchmarks[0].benchmark.requires.deviceCgroupRules[0])",
    ]);
  });

  it('gives every cell of a benchmark without requires nothing, and the same id as before requires existed', async () => {
    const plain = await load(
      'name: req\ntargets: [{name: here, provider: local}]\nbenchmarks: [{benchmark: sysbench-cpu, params: {time: 1}}]\n',
    );
    expect(plain.cells[0]!.requires).toEqual({ devices: [], deviceCgroupRules: [], privileged: false });
    const withGpu = await load(matrix('{gpu: true}'));
    const withoutGpu = await load(matrix('{}'));
    expect(withGpu.cells[0]!.id).not.toBe(withoutGpu.cells[0]!.id);
  });
});

describe('placement by requirements', () => {
  const t4: TargetFacts = {
    gpus: [{ model: 'Tesla T4', count: 1, driver: '535.104.05' }],
    nvidiaRuntime: true,
  };
  const none: TargetFacts = { gpus: [], hasDevice: () => false };

  it('compares driver versions part by part, a bound only as far as it goes', () => {
    expect(inDriverRange('470.82.01', '>=450 <=470')).toBe(true);
    expect(inDriverRange('450.36.06', '>=450 <=470')).toBe(true);
    expect(inDriverRange('535.104.05', '>=450 <=470')).toBe(false);
    expect(inDriverRange('418.87.00', '>=450')).toBe(false);
    expect(inDriverRange('525.60.13', '>=525.60')).toBe(true);
    expect(inDriverRange('525.53', '>525.53 <600')).toBe(false);
  });

  it('says what a target lacks; unknown facts skip nothing', () => {
    const gpu = { devices: [], deviceCgroupRules: [], privileged: false };
    expect(unmetRequirements({ ...gpu, gpu: { count: 1, model: 'T4' } }, t4)).toEqual([]);
    expect(unmetRequirements({ ...gpu, gpu: { count: 1, model: 'H100' } }, t4)).toEqual([
      'needs 1 GPU matching /H100/i; has 1× Tesla T4',
    ]);
    expect(unmetRequirements({ ...gpu, gpu: { count: 2 } }, t4)).toEqual(['needs 2 GPUs; has 1× Tesla T4']);
    expect(unmetRequirements({ ...gpu, gpu: { count: 1, driver: '>=450 <=470' } }, t4)).toEqual([
      'needs NVIDIA driver >=450 <=470; has 535.104.05',
    ]);
    expect(unmetRequirements({ ...gpu, gpu: { count: 1 } }, none)).toEqual(['needs 1 GPU; has none']);
    expect(
      unmetRequirements(
        { ...gpu, gpu: { count: 1 } },
        { gpus: [{ model: 'Tesla K80', count: 2 }], nvidiaRuntime: false },
      ),
    ).toEqual(['needs 1 GPU; its Docker engine has no NVIDIA runtime (nvidia-container-toolkit)']);
    expect(
      unmetRequirements(
        {
          ...gpu,
          fpga: {
            vendor: 'xilinx',
            devices: [{ host: '/dev/xdma0_user', container: '/dev/xdma0_user', permissions: 'rw' }],
          },
        },
        { fpgas: [{ model: 'Intel Stratix 10', count: 1 }], hasDevice: () => false },
      ),
    ).toEqual(['needs a xilinx FPGA; has 1× Intel Stratix 10', 'needs device /dev/xdma0_user; not there']);
    expect(unmetRequirements({ ...gpu, gpu: { count: 8, model: 'H100' } }, undefined)).toEqual([]);
    expect(unmetRequirements({ ...gpu, gpu: { count: 8, model: 'H100' } }, {})).toEqual([]);
  });

  it('keeps the cells a target can run and skips the others with the reason', async () => {
    const plan = await load(matrix('{gpu: {count: 1, model: T4}}'));
    expect(placeByRequirements(plan, new Map([['here', t4]])).skipped).toEqual([]);
    const placed = placeByRequirements(plan, new Map([['here', none]]));
    expect(placed.plan.cells).toEqual([]);
    expect(placed.plan.repetitions).toBe(0);
    expect(placed.skipped.map((s) => s.reason)).toEqual(['needs 1 GPU matching /T4/i; has none']);
  });
});

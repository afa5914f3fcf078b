import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TargetFacts } from '../../src/core/index.js';
import { parsePciId } from '../../src/config/requires-schema.js';
import { inDriverRange, placeByRequirements, planMatrix, unmetRequirements } from '../../src/plan/index.js';
import { formatRequires } from '../../src/report/tables.js';
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

describe('requires.gpu.pci: a GPU by its PCI id', () => {
  const pciOf = async (value: string) =>
    (await load(matrix(`{gpu: {pci: ${value}}}`))).cells[0]!.requires.gpu;

  it("reads vendor:device, a device id alone (NVIDIA implied), nvidia-smi's pci.device_id, or a list", async () => {
    expect(await pciOf('"10de:2204"')).toEqual({ count: 1, pci: ['10de:2204'] });
    expect(await pciOf('10DE:2204')).toEqual({ count: 1, pci: ['10de:2204'] });
    expect(await pciOf('["0x2204", "0x220610DE", "2204"]')).toEqual({
      count: 1,
      pci: ['10de:2204', '10de:2206'],
    });
    // and the plan shows it
    const requires = (await load(matrix('{gpu: {model: "3090", pci: ["10de:2204", "2206"]}}'))).cells[0]!
      .requires;
    expect(formatRequires(requires)).toBe('1 GPU /3090/i pci 10de:2204|10de:2206');
  });

  it('says what is wrong: not an id, or a number YAML made of an unquoted id', async () => {
    expect(await problems(matrix('{gpu: {pci: "rtx"}}'))).toEqual([
      "m.yaml:10:29: 'rtx' is not a PCI id: '10de:2204' (vendor:device), '2204' or nvidia-smi's '0x220410DE' (at benchmarks[0].benchmark.requires.gpu.pci)",
    ]);
    expect(await problems(matrix('{gpu: {pci: 0x2204}}'))).toEqual([
      "m.yaml:10:29: a PCI id must be quoted, e.g. '10de:2204' (YAML read 8708 as a number) (at benchmarks[0].benchmark.requires.gpu.pci)",
    ]);
    expect(await problems(matrix('{gpu: {pci: ["10de:2204", 2206]}}'))).toEqual([
      "m.yaml:10:43: a PCI id must be quoted, e.g. '10de:2204' (YAML read 2206 as a number) (at benchmarks[0].benchmark.requires.gpu.pci[1])",
    ]);
  });

  const hex4 = fc.stringMatching(/^[0-9a-f]{4}$/);

  it('every written form of one id reads as the same vendor:device', () => {
    fc.assert(
      fc.property(hex4, hex4, (vendor, device) => {
        const canonical = `${vendor}:${device}`;
        for (const form of [
          canonical,
          canonical.toUpperCase(),
          `0x${vendor}:0x${device}`,
          ` ${vendor}:${device} `,
          `0x${device}${vendor}`.toUpperCase(),
          `${device}${vendor}`,
        ])
          expect(parsePciId(form)).toBe(canonical);
        expect(parsePciId(`0x${device}`)).toBe(`10de:${device}`);
      }),
    );
  });

  it('any text: an id in canonical form or nothing, and reading it again gives it back', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.stringMatching(/^(0x)?[0-9a-fA-F]{2,9}(:(0x)?[0-9a-fA-F]{3,5})?$/)),
        (text) => {
          const id = parsePciId(text);
          if (id === undefined) return;
          expect(id).toMatch(/^[0-9a-f]{4}:[0-9a-f]{4}$/);
          expect(parsePciId(id)).toBe(id);
        },
      ),
    );
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

  it('a GPU an old driver names "Graphics Device" is found by its PCI id; model or PCI id is enough', () => {
    const gpu = { devices: [], deviceCgroupRules: [], privileged: false };
    const old: TargetFacts = {
      gpus: [{ model: 'Graphics Device', count: 2, driver: '450.51.06', pciDeviceId: '10de:2204' }],
    };
    expect(unmetRequirements({ ...gpu, gpu: { count: 2, model: '3090' } }, old)).toEqual([
      'needs 2 GPUs matching /3090/i; has 2× Graphics Device [10de:2204]',
    ]);
    expect(unmetRequirements({ ...gpu, gpu: { count: 2, pci: ['10de:2204'] } }, old)).toEqual([]);
    expect(unmetRequirements({ ...gpu, gpu: { count: 2, model: '3090', pci: ['10de:2204'] } }, old)).toEqual(
      [],
    );
    expect(unmetRequirements({ ...gpu, gpu: { count: 1, model: 'T4', pci: ['10de:2204'] } }, t4)).toEqual([]);
    expect(unmetRequirements({ ...gpu, gpu: { count: 1, pci: ['10de:20b2'] } }, old)).toEqual([
      'needs 1 GPU with PCI id 10de:20b2; has 2× Graphics Device [10de:2204]',
    ]);
    // the driver range applies to the GPUs that fit
    expect(
      unmetRequirements({ ...gpu, gpu: { count: 1, pci: ['10de:2204'], driver: '>=470' } }, old),
    ).toEqual(['needs NVIDIA driver >=470; has 450.51.06']);
  });

  it('a GPU whose PCI id is not known, or GPUs unknown altogether, skip nothing', () => {
    const gpu = { devices: [], deviceCgroupRules: [], privileged: false };
    // t4 carries no pciDeviceId: it cannot be ruled out by one
    expect(unmetRequirements({ ...gpu, gpu: { count: 1, pci: ['10de:2204'] } }, t4)).toEqual([]);
    // nvidia-smi's output unreadable: no `gpus` at all (never [])
    expect(
      unmetRequirements({ ...gpu, gpu: { count: 4, pci: ['10de:2204'] } }, { nvidiaRuntime: true }),
    ).toEqual([]);
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

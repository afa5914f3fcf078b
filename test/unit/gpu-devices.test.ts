// How a GPU requirement becomes a container's DeviceRequest (src/engine/devices.ts), and that
// the engine picks GPUs by the same rule placement uses (src/plan/requirements.ts).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InfrastructureError, type Requirements } from '../../src/core/index.js';
import { deviceAccess, selectGpus, type MachineGpu } from '../../src/engine/devices.js';
import { gpuFits } from '../../src/plan/index.js';

const none = { devices: [], deviceCgroupRules: [], privileged: false };
type Gpu = NonNullable<Requirements['gpu']>;

// A machine with two kinds of card, as an old driver names them (uuids made up).
const mixed: MachineGpu[] = [
  { uuid: 'GPU-a', model: 'Graphics Device', pciDeviceId: '10de:2204' },
  { uuid: 'GPU-b', model: 'Tesla T4', pciDeviceId: '10de:1eb8' },
  { uuid: 'GPU-c', model: 'Graphics Device', pciDeviceId: '10de:2204' },
];
const request = (gpu: Gpu, gpus?: readonly MachineGpu[]) =>
  deviceAccess({ ...none, gpu }, gpus).DeviceRequests?.[0];

describe('GPU DeviceRequests', () => {
  it('a count, or all, when nothing selects particular GPUs', () => {
    expect(request({ count: 2 })).toEqual({ Driver: 'nvidia', Capabilities: [['gpu']], Count: 2 });
    expect(request({ count: 'all' }, mixed)).toMatchObject({ Count: -1 });
    expect(request({ count: 1, ids: ['3'] }, mixed)).toMatchObject({ DeviceIDs: ['3'] });
  });

  it('by PCI id or model: the uuids of the first fitting GPUs, all of them for `all`', () => {
    expect(request({ count: 1, pci: ['10de:2204'] }, mixed)).toEqual({
      Driver: 'nvidia',
      Capabilities: [['gpu']],
      DeviceIDs: ['GPU-a'],
    });
    expect(request({ count: 'all', pci: ['10de:2204'] }, mixed)).toMatchObject({
      DeviceIDs: ['GPU-a', 'GPU-c'],
    });
    expect(request({ count: 1, model: 'T4' }, mixed)).toMatchObject({ DeviceIDs: ['GPU-b'] });
    expect(request({ count: 2, model: 'T4', pci: ['10de:2204'] }, mixed)).toMatchObject({
      DeviceIDs: ['GPU-a', 'GPU-b'],
    });
  });

  it("the machine's GPUs, a uuid or a PCI id not known: a count, and the engine picks", () => {
    expect(request({ count: 1, pci: ['10de:2204'] })).toMatchObject({ Count: 1 });
    expect(
      request({ count: 1, pci: ['10de:2204'] }, [{ uuid: 'GPU-x', model: 'Graphics Device' }]),
    ).toMatchObject({
      Count: 1,
    });
    expect(request({ count: 1, model: 'T4' }, [{ model: 'Tesla T4' }])).toMatchObject({ Count: 1 });
  });

  it('known GPUs that cannot satisfy it: an infrastructure error naming what the machine has', () => {
    expect(() => selectGpus({ count: 3, pci: ['10de:2204'] }, mixed)).toThrow(InfrastructureError);
    expect(() => selectGpus({ count: 1, pci: ['10de:20b2'] }, mixed)).toThrow(
      'the benchmark needs 1 GPU with PCI id 10de:20b2; this machine has Graphics Device [10de:2204], Tesla T4 [10de:1eb8], Graphics Device [10de:2204]',
    );
  });

  it('selects exactly the GPUs placement counts as fitting', () => {
    const hex4 = fc.constantFrom('2204', '1eb8', '20b2');
    const machineGpu = fc.record(
      {
        uuid: fc.uuid().map((u) => `GPU-${u}`),
        model: fc.constantFrom('Graphics Device', 'Tesla T4', 'NVIDIA A100-SXM4-80GB'),
        pciDeviceId: hex4.map((d) => `10de:${d}`),
      },
      { requiredKeys: ['uuid', 'model'] },
    );
    const requirement = fc.record(
      {
        count: fc.oneof(fc.integer({ min: 1, max: 4 }), fc.constant('all' as const)),
        model: fc.constantFrom('T4', 'A100', 'Graphics'),
        pci: fc.array(
          hex4.map((d) => `10de:${d}`),
          { minLength: 1, maxLength: 2 },
        ),
      },
      { requiredKeys: ['count'] },
    );
    fc.assert(
      fc.property(requirement, fc.array(machineGpu, { maxLength: 5 }), (gpu, gpus) => {
        const fits = gpus.map((g) => gpuFits(gpu, g));
        let picked: string[] | undefined;
        try {
          picked = selectGpus(gpu, gpus);
        } catch (err) {
          expect(err).toBeInstanceOf(InfrastructureError);
          const need = gpu.count === 'all' ? 1 : gpu.count;
          expect(fits.filter((f) => f === true).length).toBeLessThan(need);
          return;
        }
        const fitting = gpus.filter((_, i) => fits[i]).map((g) => g.uuid);
        const selects = (gpu.model || gpu.pci) && !fits.includes(undefined);
        expect(picked).toEqual(
          !selects ? undefined : gpu.count === 'all' ? fitting : fitting.slice(0, gpu.count),
        );
      }),
    );
  });
});

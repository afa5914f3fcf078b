import { describe, expect, it } from 'vitest';
import { factsOf, machineChecks, type MachineProbe } from '../../src/doctor/index.js';

const healthy: MachineProbe = {
  docker: { version: '24.0.7', apiVersion: '1.43', os: 'linux', kernel: '6.1.0' },
  storageDriver: 'overlay2',
  dockerRootDir: '/var/lib/docker',
  runtimes: ['runc', 'nvidia'],
  clockSkewMs: 12,
  inodes: { total: 1000, free: 500 },
  devices: {},
  nvidia: {
    inventory: {
      driverVersion: '470.82.01',
      cudaVersion: '11.4',
      gpus: [
        { index: 0, uuid: 'GPU-1', name: 'Tesla K80', pciBusId: '0' },
        { index: 1, uuid: 'GPU-2', name: 'Tesla K80', pciBusId: '1' },
      ],
    },
  },
};
const none = { devices: [], deviceCgroupRules: [], privileged: false };
const byCheck = (probe: MachineProbe, needed = [] as Parameters<typeof machineChecks>[1]) =>
  Object.fromEntries(machineChecks(probe, needed).map((c) => [c.check, c]));

describe('doctor checks of one machine', () => {
  it('a healthy GPU machine passes, and the matrix requirements are judged like placement does', () => {
    const checks = byCheck(healthy, [
      { entries: ['cuda'], requires: { ...none, gpu: { count: 2, model: 'K80', driver: '>=450 <=470' } } },
    ]);
    expect(checks['nvidia-smi']).toEqual({
      check: 'nvidia-smi',
      status: 'ok',
      detail: 'driver 470.82.01, CUDA 11.4: Tesla K80, Tesla K80',
    });
    expect(checks['requires of cuda']!.status).toBe('ok');
    const wrongDriver = byCheck(healthy, [
      { entries: ['new'], requires: { ...none, gpu: { count: 1, driver: '>=525' } } },
    ]);
    expect(wrongDriver['requires of new']).toMatchObject({
      status: 'fail',
      detail: 'needs NVIDIA driver >=525; has 470.82.01',
    });
  });

  it('warns under 10 % free inodes, on a driver other than overlay2 and on a clock more than 1 s off', () => {
    const checks = byCheck({
      ...healthy,
      storageDriver: 'vfs',
      inodes: { total: 1000, free: 99 },
      clockSkewMs: -2500,
    });
    expect(checks['free inodes']).toMatchObject({
      status: 'warn',
      detail: expect.stringMatching(/9\.9% free/),
    });
    expect(checks['storage driver']).toMatchObject({
      status: 'warn',
      detail: expect.stringMatching(/^vfs \(overlay2 is preferred/),
    });
    expect(checks['clock skew']).toMatchObject({
      status: 'warn',
      detail: expect.stringMatching(/^-2500 ms/),
    });
  });

  it('fails what a benchmark needs and the machine lacks; an engine that does not answer is one failure', () => {
    const checks = byCheck(
      { ...healthy, runtimes: ['runc'], nvidia: undefined, devices: { '/dev/xdma0_user': false } },
      [
        {
          entries: ['fpga'],
          requires: {
            ...none,
            gpu: { count: 1 },
            devices: [{ host: '/dev/xdma0_user', container: '/dev/xdma0_user', permissions: 'rw' }],
          },
        },
      ],
    );
    expect(checks['NVIDIA runtime']!.status).toBe('fail');
    expect(checks['device nodes']).toMatchObject({ status: 'fail', detail: '/dev/xdma0_user MISSING' });
    expect(checks['requires of fpga']!.status).toBe('fail');
    expect(
      machineChecks({ docker: { error: 'connect ECONNREFUSED' }, runtimes: [], devices: {} }, []),
    ).toEqual([
      { check: 'docker', status: 'fail', detail: 'Docker engine does not answer: connect ECONNREFUSED' },
    ]);
  });

  it('nvidia-smi output that cannot be read: GPUs unknown (a warning), never "no GPU"; GPU requirements left to the engine', () => {
    const unreadable: MachineProbe = {
      ...healthy,
      nvidia: { unreadable: 'not nvidia-smi -q -x output: no <nvidia_smi_log> element' },
    };
    const checks = byCheck(unreadable, [
      { entries: ['cuda'], requires: { ...none, gpu: { count: 2, model: 'K80' } } },
    ]);
    expect(checks['nvidia-smi']).toEqual({
      check: 'nvidia-smi',
      status: 'warn',
      detail:
        'GPUs unknown: its -q -x output could not be read (not nvidia-smi -q -x output: no <nvidia_smi_log> element); placement leaves GPU cells to the engine',
    });
    expect(factsOf(unreadable)).not.toHaveProperty('gpus');
    expect(checks['requires of cuda']).toEqual({
      check: 'requires of cuda',
      status: 'warn',
      detail: 'GPUs unknown: the engine decides when the container starts',
    });
  });

  it('names each GPU with its PCI id, so a "Graphics Device" can be told apart, and matches requirements by it', () => {
    const old: MachineProbe = {
      ...healthy,
      nvidia: {
        inventory: {
          driverVersion: '450.51.06',
          gpus: [
            { index: 0, uuid: 'GPU-1', name: 'Graphics Device', pciBusId: '0', pciDeviceId: '10de:2204' },
          ],
        },
      },
    };
    const checks = byCheck(old, [
      { entries: ['by-pci'], requires: { ...none, gpu: { count: 1, pci: ['10de:2204'] } } },
      { entries: ['by-name'], requires: { ...none, gpu: { count: 1, model: '3090' } } },
    ]);
    expect(checks['nvidia-smi']!.detail).toBe('driver 450.51.06: Graphics Device [10de:2204]');
    expect(checks['requires of by-pci']!.status).toBe('ok');
    expect(checks['requires of by-name']).toMatchObject({
      status: 'fail',
      detail: 'needs 1 GPU matching /3090/i; has 1× Graphics Device [10de:2204]',
    });
  });
});

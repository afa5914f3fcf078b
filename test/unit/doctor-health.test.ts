// Recorded nvidia-smi -q -x outputs: test/fixtures/nvidia-smi/SOURCE.md. Faulty-GPU variants
// and kernel log lines written by hand from the documented formats: test/fixtures/nvidia-smi-health/README.md
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { kernelLogOf, machineChecks, type MachineProbe } from '../../src/doctor/index.js';
import { parseGpuHealthXml, parseGpuInventoryXml } from '../../src/metrics/gpu/index.js';
import { parseXidLines } from '../../src/metrics/index.js';
import { ROOT } from '../helpers/catalog.js';

const fixture = (dir: string, name: string) =>
  readFileSync(path.join(ROOT, 'test/fixtures', dir, name), 'utf8');

function probeOf(xml: string, kernelLog?: MachineProbe['kernelLog']): MachineProbe {
  return {
    docker: { version: '24.0.7', apiVersion: '1.43', os: 'linux', kernel: '6.1.0' },
    storageDriver: 'overlay2',
    runtimes: ['runc', 'nvidia'],
    clockSkewMs: 0,
    inodes: { total: 1000, free: 500 },
    devices: {},
    nvidia: { inventory: parseGpuInventoryXml(xml) },
    gpuHealth: parseGpuHealthXml(xml),
    ...(kernelLog ? { kernelLog } : {}),
  };
}
const checksOf = (probe: MachineProbe) =>
  Object.fromEntries(machineChecks(probe, []).map((c) => [c.check, c]));

describe('doctor: GPU health and XID errors before a run', () => {
  it('a healthy T4 with a readable, quiet kernel log', () => {
    const checks = checksOf(probeOf(fixture('nvidia-smi', 'tesla-t4.xml'), { xids: [] }));
    expect(checks['GPU health']).toMatchObject({
      status: 'ok',
      detail: expect.stringMatching(/^1 GPU\(s\): no/),
    });
    expect(checks['XID errors']).toEqual({
      check: 'XID errors',
      status: 'ok',
      detail: 'none in the kernel log',
    });
  });

  it('warns with the detail: retirement pending, a slowdown active now, uncorrectable errors, XIDs', () => {
    const xids = parseXidLines(fixture('nvidia-smi-health', 'kmsg-xid.txt'));
    const checks = checksOf(probeOf(fixture('nvidia-smi-health', 'tesla-t4-dbe-retired.xml'), { xids }));
    expect(checks['GPU health']).toEqual({
      check: 'GPU health',
      status: 'warn',
      detail:
        'GPU 0: page retirement pending (applied at the next GPU reset); GPU 0 thermally slowed (HW) now; GPU 0: 2 uncorrectable ECC errors since the driver loaded; repetitions here may be suspect',
    });
    expect(checks['XID errors']).toMatchObject({
      status: 'warn',
      detail: expect.stringMatching(
        /^2× XID 79 on 0000:00:1e, 1× XID 13 on 0000:00:1e in the kernel log \(latest: 13, /,
      ),
    });
    const remap = checksOf(probeOf(fixture('nvidia-smi-health', 'a10g-row-remapped.xml')));
    expect(remap['GPU health']!.detail).toMatch(/^GPU 0: row remapping pending .*; GPU 0 power-capped now;/);
  });

  it('a kernel log the container may not read is said, not hidden', () => {
    const checks = checksOf(
      probeOf(fixture('nvidia-smi', 'tesla-t4.xml'), {
        unreadable: 'dmesg: read kernel buffer failed: Operation not permitted',
      }),
    );
    expect(checks['XID errors']).toEqual({
      check: 'XID errors',
      status: 'skip',
      detail: 'XID errors not readable (dmesg: read kernel buffer failed: Operation not permitted)',
    });
  });

  it("reads the probe script's output", () => {
    const dmesg = fixture('nvidia-smi-health', 'dmesg-xid.txt')
      .split('\n')
      .filter((l) => l.includes('NVRM: Xid'))
      .map((l) => `xid ${l}`);
    const readable = kernelLogOf(['1000 10 990 1% /data-root', ...dmesg, 'kernel-log readable'].join('\n'));
    expect(readable).toEqual({
      xids: [expect.objectContaining({ code: 48 }), expect.objectContaining({ code: 63 })],
    });
    expect(
      kernelLogOf('kernel-log unreadable: dmesg: read kernel buffer failed: Operation not permitted\n'),
    ).toEqual({
      unreadable: 'dmesg: read kernel buffer failed: Operation not permitted',
    });
    expect(kernelLogOf('df: /data-root: No such file\n')).toEqual({
      unreadable: 'the probe did not get to read it',
    });
  });

  it('no GPU asked for: no health checks at all', () => {
    const { gpuHealth: _g, ...rest } = probeOf(fixture('nvidia-smi', 'tesla-t4.xml'));
    expect(machineChecks(rest, []).map((c) => c.check)).not.toContain('GPU health');
  });
});

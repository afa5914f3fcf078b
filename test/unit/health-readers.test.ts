// Recorded nvidia-smi -q -x outputs: test/fixtures/nvidia-smi/SOURCE.md. Faulty-GPU variants
// and kernel log lines written by hand from the documented formats: test/fixtures/nvidia-smi-health/README.md
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseGpuHealthXml } from '../../src/metrics/gpu/index.js';
import { KernelLog, parseXidLine, parseXidLines, readCpuThrottle } from '../../src/metrics/index.js';
import { ROOT } from '../helpers/catalog.js';

const fixture = (dir: string, name: string) =>
  readFileSync(path.join(ROOT, 'test/fixtures', dir, name), 'utf8');
const recorded = (name: string) => fixture('nvidia-smi', name);
const faulty = (name: string) => fixture('nvidia-smi-health', name);

describe('parseGpuHealthXml against recorded nvidia-smi -q -x', () => {
  it('Tesla T4 (v11): retired pages counted, no row remapper, ECC counts zero, no reason active', () => {
    expect(parseGpuHealthXml(recorded('tesla-t4.xml'))).toEqual([
      {
        index: 0,
        uuid: 'GPU-d37e67a5-91dd-3774-a5cb-99096249601a',
        pciBusId: '00000000:00:1E.0',
        activeReasons: [],
        retiredPages: { singleBit: 0, doubleBit: 0, pending: false },
        remappedRows: {},
        ecc: { correctable: 0, uncorrectable: 0 },
      },
    ]);
  });

  it('A10G (v11): row remapper instead of page retirement; gpu_idle is its active reason', () => {
    const [gpu] = parseGpuHealthXml(recorded('a10g.xml'));
    expect(gpu).toMatchObject({
      activeReasons: ['gpu_idle'],
      retiredPages: {},
      remappedRows: { correctable: 0, uncorrectable: 0, pending: false, failure: false },
      ecc: { correctable: 0, uncorrectable: 0 },
    });
  });

  it('A100 (v12, clocks_event_reasons): page retirement and remapped rows N/A stay absent', () => {
    const [gpu] = parseGpuHealthXml(recorded('a100-sxm4-v12.xml'));
    expect(gpu).toMatchObject({ activeReasons: [], retiredPages: {}, remappedRows: {} });
    expect(gpu!.ecc).toEqual({ correctable: 0, uncorrectable: 0 });
  });

  it('RTX 3080 (v13): a GeForce without ECC has no counts at all (N/A is not 0)', () => {
    const [gpu] = parseGpuHealthXml(recorded('rtx-3080-v13.xml'));
    expect(gpu).toMatchObject({ retiredPages: {}, remappedRows: {}, ecc: {} });
  });

  it('reads the faults of the hand-written variants', () => {
    expect(parseGpuHealthXml(faulty('tesla-t4-dbe-retired.xml'))[0]).toMatchObject({
      activeReasons: ['hw_thermal_slowdown'],
      retiredPages: { singleBit: 0, doubleBit: 1, pending: true },
      ecc: { correctable: 0, uncorrectable: 2 },
    });
    expect(parseGpuHealthXml(faulty('a10g-row-remapped.xml'))[0]).toMatchObject({
      activeReasons: ['gpu_idle', 'sw_power_cap'],
      remappedRows: { correctable: 0, uncorrectable: 1, pending: true, failure: false },
      ecc: { correctable: 7, uncorrectable: 0 },
    });
  });

  it('refuses what is not nvidia-smi XML', () => {
    expect(() => parseGpuHealthXml('<html></html>')).toThrow(/nvidia_smi_log/);
  });
});

describe('XID errors in kernel log lines', () => {
  it('reads /dev/kmsg records, skipping continuation lines and other messages', () => {
    expect(parseXidLines(faulty('kmsg-xid.txt'))).toEqual([
      { pciBusId: '0000:00:1e', code: 79, detail: 'pid=2817, GPU has fallen off the bus.' },
      { pciBusId: '0000:00:1e', code: 79, detail: 'pid=2817, GPU has fallen off the bus.' },
      expect.objectContaining({ pciBusId: '0000:00:1e', code: 13 }),
    ]);
  });

  it("reads dmesg's lines, in the driver's form with and without PCI:", () => {
    expect(parseXidLines(faulty('dmesg-xid.txt')).map((x) => [x.pciBusId, x.code])).toEqual([
      ['0000:00:1e', 48],
      ['0000:00:1e', 63],
    ]);
  });

  it('is not fooled by the GPU announcement or other NVRM lines', () => {
    expect(parseXidLine('4,1,2,-;NVRM: GPU at PCI:0000:00:1e: GPU-d37e67a5')).toBeUndefined();
    expect(parseXidLine('NVRM: loading NVIDIA UNIX x86_64 Kernel Module  535.129.03')).toBeUndefined();
  });
});

describe('KernelLog', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('reads the log once, then only what was logged since', () => {
    dir = mkdtempSync(path.join(tmpdir(), 'kmsg-'));
    const file = path.join(dir, 'kmsg');
    writeFileSync(file, faulty('kmsg-xid.txt'));
    const log = new KernelLog(file);
    try {
      expect(log.read()).toEqual({ events: expect.arrayContaining([expect.objectContaining({ code: 79 })]) });
      expect(log.read()).toEqual({ events: [] });
      appendFileSync(
        file,
        '4,1300,5900000000,-;NVRM: Xid (PCI:0000:00:1e): 94, pid=1, Contained ECC error.\n',
      );
      expect(log.read()).toEqual({ events: [expect.objectContaining({ code: 94 })] });
    } finally {
      log.close();
    }
  });

  it('says a log it cannot open is not readable, and keeps saying so without trying again', () => {
    const log = new KernelLog('/nonexistent/kmsg');
    expect(log.read()).toEqual({ unreadable: '/nonexistent/kmsg: ENOENT' });
    expect(log.read()).toEqual({ unreadable: '/nonexistent/kmsg: ENOENT' });
  });
});

describe('readCpuThrottle over a sysfs tree', () => {
  let root: string | undefined;
  afterEach(() => {
    if (root) rmSync(root, { recursive: true, force: true });
    root = undefined;
  });

  /** cpuN → [package id, core id, package count, core count] (two threads per core show the same). */
  function tree(cpus: Record<string, [number, number, number, number] | 'no-throttle'>): string {
    root = mkdtempSync(path.join(tmpdir(), 'sysfs-'));
    for (const [cpu, v] of Object.entries(cpus)) {
      const dir = path.join(root, 'sys/devices/system/cpu', cpu);
      mkdirSync(path.join(dir, 'topology'), { recursive: true });
      if (v === 'no-throttle') continue;
      mkdirSync(path.join(dir, 'thermal_throttle'));
      writeFileSync(path.join(dir, 'topology/physical_package_id'), `${v[0]}\n`);
      writeFileSync(path.join(dir, 'topology/core_id'), `${v[1]}\n`);
      writeFileSync(path.join(dir, 'thermal_throttle/package_throttle_count'), `${v[2]}\n`);
      writeFileSync(path.join(dir, 'thermal_throttle/core_throttle_count'), `${v[3]}\n`);
    }
    mkdirSync(path.join(root, 'sys/devices/system/cpu/cpufreq'), { recursive: true });
    return root;
  }

  it('counts each package and each physical core once, whatever its threads show', async () => {
    const fsRoot = tree({
      cpu0: [0, 0, 12, 3],
      cpu1: [0, 1, 12, 4],
      cpu2: [1, 0, 5, 1],
      cpu3: [0, 0, 12, 3], // cpu0's sibling thread
    });
    expect(await readCpuThrottle(fsRoot)).toEqual({ package: 17, core: 8 });
  });

  it('no counters (a VM): nothing, rather than zero', async () => {
    expect(await readCpuThrottle(tree({ cpu0: 'no-throttle' }))).toBeUndefined();
    expect(await readCpuThrottle('/nonexistent')).toBeUndefined();
  });
});

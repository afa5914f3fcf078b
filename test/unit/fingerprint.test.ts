/**
 * The fingerprint parsers, `buildFingerprint`, the hash, and `collectFingerprint` against
 * a stand-in engine. Inputs are recorded or published tool outputs:
 * test/fixtures/fingerprint/SOURCE.md and test/fixtures/nvidia-smi/SOURCE.md.
 */
import type Docker from 'dockerode';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { CancelledError, InfrastructureError } from '../../src/core/index.js';
import {
  buildFingerprint,
  collectFingerprint,
  detectFpgas,
  detectVirtualization,
  fingerprintHash,
  fingerprintKey,
  formatProbeOutput,
  GPU_KEY_FIELDS,
  gpusFromNvidiaSmi,
  PROBE_SCRIPT,
  gpusFromPci,
  gpusFromProcfs,
  kernelMajorMinor,
  parseCaches,
  parseCpuinfo,
  parseDisks,
  parseDockerInfo,
  parseGovernor,
  parseLspci,
  parseMeminfo,
  parseNvidiaDriverVersion,
  parseOsRelease,
  parseProbeOutput,
  parseSysfsPci,
  parseThp,
  parseXbutilJson,
  parseXbutilText,
  toHardwareFacts,
  toolStatuses,
  withPciDeviceIds,
  type Fingerprint,
} from '../../src/fingerprint/index.js';
import { FIXTURES } from '../helpers/catalog.js';

const fx = (name: string) => readFileSync(path.join(FIXTURES, 'fingerprint', name), 'utf8');
const smi = (name: string) => readFileSync(path.join(FIXTURES, 'nvidia-smi', name), 'utf8');
const json = (name: string): unknown => JSON.parse(fx(name));
const recorded = () => parseProbeOutput(fx('probe-firecracker-vm.txt'));
const GIB = 2 ** 30;
const MIB = 2 ** 20;

describe('probe output', () => {
  it('splits a recorded run into its sections; the end marker makes it complete', () => {
    const { sections, complete } = recorded();
    expect(complete).toBe(true);
    expect(Object.keys(sections)).toEqual([
      'probe',
      'cpuinfo',
      'caches',
      'meminfo',
      'thp',
      'kernel',
      'os-release',
      'disks',
      'virt',
      'pci',
      'end',
    ]);
    expect(sections.kernel).toBe('6.18.44-fc-v782');
    expect(sections.virt).toBe('');
  });

  it('output cut short keeps what arrived and says it is incomplete', () => {
    const text = fx('probe-firecracker-vm.txt');
    const { sections, complete } = parseProbeOutput(text.slice(0, text.indexOf('==> benchyard:pci')));
    expect(complete).toBe(false);
    expect(sections).toHaveProperty('disks');
    expect(sections).not.toHaveProperty('pci');
  });

  it('formatProbeOutput writes what parseProbeOutput reads; tool statuses come from `tools`', () => {
    const sections = { kernel: '6.1.0-18-amd64', tools: 'lspci=0\nnvidia-smi=9' };
    expect(parseProbeOutput(formatProbeOutput(sections))).toEqual({
      sections: { ...sections, end: '' },
      complete: true,
    });
    expect(toolStatuses(sections)).toEqual({ lspci: 0, 'nvidia-smi': 9 });
  });
});

describe('the probe script, run by sh here', () => {
  const probe = (root: string, env: Record<string, string> = {}) =>
    parseProbeOutput(
      execFileSync('sh', ['-c', PROBE_SCRIPT], {
        env: { ...process.env, ...env, BENCHYARD_PROBE_ROOT: root },
        stdio: ['ignore', 'pipe', 'pipe'],
      }).toString(),
    );

  it('with nothing to read and no tools, prints no section but still completes', () => {
    expect(probe('/nonexistent')).toEqual({
      sections: { probe: 'version=1', virt: '', end: '' },
      complete: true,
    });
    expect(buildFingerprint(probe('/nonexistent'))).toEqual({ problems: [] });
  });

  it('runs lspci -nn, nvidia-smi -q -x and xbutil examine (text and JSON) where they are on PATH', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'benchyard-probe-'));
    const fixture = (name: string) => path.join(FIXTURES, 'fingerprint', name);
    const tool = (name: string, body: string) => {
      writeFileSync(path.join(dir, name), `#!/bin/sh\n${body}\n`);
      chmodSync(path.join(dir, name), 0o755);
    };
    try {
      tool('lspci', `[ "$1" = -nn ] && cat '${fixture('lspci-alveo-u250.txt')}'`);
      tool('nvidia-smi', `[ "$*" = '-q -x' ] && cat '${path.join(FIXTURES, 'nvidia-smi', 'tesla-t4.xml')}'`);
      tool(
        'xbutil',
        `case "$*" in *'--format JSON'*) while [ $# -gt 0 ]; do [ "$1" = --output ] && cp '${fixture('xbutil-examine.json')}' "$2"; shift; done ;;
         examine) cat '${fixture('xbutil-examine-2.13.txt')}' ;; *) exit 2 ;; esac`,
      );
      const out = probe('/nonexistent', { PATH: `${dir}:${process.env.PATH}` });
      expect(Object.keys(out.sections)).toEqual([
        'probe',
        'virt',
        'lspci',
        'nvidia-smi',
        'xbutil',
        'xbutil-json',
        'tools',
        'end',
      ]);
      expect(toolStatuses(out.sections)).toEqual({ lspci: 0, 'nvidia-smi': 0, xbutil: 0 });
      const fp = buildFingerprint(out);
      expect(fp.gpus?.map((g) => [g.model, g.source])).toEqual([['Tesla T4', 'nvidia-smi']]);
      expect(fp.fpgas?.map((f) => f.deviceId)).toEqual(['5004', '903f']);
      expect(fp.xrtVersion).toBe('2.17.0'); // the JSON report wins over the text one
      expect(fp.problems).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('parseCpuinfo', () => {
  it('EC2 g4dn.xlarge (Xeon Platinum 8259CL, 2 cores x 2 threads)', () => {
    const cpu = parseCpuinfo(fx('cpuinfo-ec2-xeon-8259cl.txt'))!;
    expect(cpu).toMatchObject({
      vendor: 'GenuineIntel',
      model: 'Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz',
      sockets: 1,
      cores: 2,
      threads: 4,
      microcode: '0x5002f01',
    });
    expect(cpu.flags).toEqual(expect.arrayContaining(['avx2', 'avx512f', 'avx512vl', 'hypervisor']));
    expect(cpu.flags).toEqual([...new Set(cpu.flags)].sort());
  });

  it('Azure D2s v3 (one core, two threads, microcode hidden by Hyper-V)', () => {
    expect(parseCpuinfo(fx('cpuinfo-azure-d2s-v3.txt'))).toMatchObject({
      model: 'Intel(R) Xeon(R) Platinum 8272CL CPU @ 2.60GHz',
      sockets: 1,
      cores: 1,
      threads: 2,
      microcode: '0xffffffff',
    });
  });

  it('two sockets on bare metal: cores counted per socket, no hypervisor flag', () => {
    const cpu = parseCpuinfo(fx('cpuinfo-xeon-e5-2660v3-2s.txt'))!;
    expect(cpu).toMatchObject({ sockets: 2, cores: 4, threads: 4, microcode: '0x43' });
    expect(cpu.flags).not.toContain('hypervisor');
    expect(cpu.flags).not.toContain('avx512f');
  });

  it('the recorded VM (AMD EPYC under Firecracker)', () => {
    expect(parseCpuinfo(recorded().sections.cpuinfo!)).toMatchObject({
      vendor: 'AuthenticAMD',
      model: 'AMD EPYC',
      sockets: 1,
      cores: 2,
      threads: 2,
      microcode: '0x1000065',
    });
  });

  it('arm64 layout (Graviton2-like, hand-written): implementer and part name the core', () => {
    const block = (n: number) =>
      `processor\t: ${n}\nBogoMIPS\t: 243.75\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp ssbs\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x3\nCPU part\t: 0xd0c\nCPU revision\t: 1\n`;
    expect(parseCpuinfo([0, 1].map(block).join('\n'))).toMatchObject({
      vendor: 'ARM',
      model: 'Neoverse-N1',
      sockets: 1,
      cores: 2,
      threads: 2,
      flags: expect.arrayContaining(['asimd', 'atomics']),
    });
  });

  it('no processor: undefined', () => {
    expect(parseCpuinfo('')).toBeUndefined();
  });
});

describe('caches, governor, memory, disks', () => {
  it('cpu0 caches of the recorded VM', () => {
    expect(parseCaches(recorded().sections.caches!)).toEqual([
      { level: 1, type: 'Data', sizeBytes: 32 * 1024 },
      { level: 1, type: 'Instruction', sizeBytes: 32 * 1024 },
      { level: 2, type: 'Unified', sizeBytes: 512 * 1024 },
      { level: 3, type: 'Unified', sizeBytes: 32 * MIB },
    ]);
    expect(parseCaches('2\tUnified\t1M\n-\t-\t-\n')).toEqual([{ level: 2, type: 'Unified', sizeBytes: MIB }]);
  });

  it('governor: one word, else undefined', () => {
    expect(parseGovernor('performance\n')).toBe('performance');
    expect(parseGovernor('')).toBeUndefined();
  });

  it('meminfo: total and static huge pages; THP setting', () => {
    expect(parseMeminfo(recorded().sections.meminfo!)).toEqual({
      totalBytes: 24683656 * 1024,
      hugepages: { total: 0, sizeBytes: 2 * MIB },
    });
    expect(
      parseMeminfo('MemTotal: 1048576 kB\nHugePages_Total:    512\nHugepagesize:    1048576 kB\n'),
    ).toEqual({
      totalBytes: GIB,
      hugepages: { total: 512, sizeBytes: GIB },
    });
    expect(parseMeminfo('MemFree: 1 kB')).toBeUndefined();
    expect(parseThp(recorded().sections.thp!)).toBe('madvise');
  });

  it('disks: sectors to bytes; loop, ram, zram and empty drives left out', () => {
    expect(parseDisks(recorded().sections.disks!)).toEqual([
      { name: 'vda', sizeBytes: 536870912 * 512, rotational: true },
    ]);
    const text =
      'nvme0n1\t250069680\t0\tAmazon Elastic Block Store\nloop0\t0\t0\t-\nsr0\t0\t1\tQEMU DVD-ROM\nsda\t-\t-\t-\n';
    expect(parseDisks(text)).toEqual([
      { name: 'nvme0n1', sizeBytes: 250069680 * 512, rotational: false, model: 'Amazon Elastic Block Store' },
    ]);
  });
});

describe('PCI', () => {
  it('sysfs: the recorded VM and an EC2 g4dn (T4 at 00:1e.0)', () => {
    expect(parseSysfsPci(recorded().sections.pci!)).toHaveLength(6);
    expect(parseSysfsPci(fx('pci-sysfs-ec2-g4dn.txt')).at(-1)).toEqual({
      slot: '0000:00:1e.0',
      vendorId: '10de',
      deviceId: '1eb8',
      classId: '0302',
      subsystemVendorId: '10de',
      subsystemDeviceId: '12a2',
    });
  });

  it('lspci -nn: names with brackets, rev and prog-if suffixes, with and without domain', () => {
    const f1 = parseLspci(fx('lspci-ec2-f1.txt'));
    expect(f1).toHaveLength(8);
    expect(f1[0]).toEqual({
      slot: '0000:00:00.0',
      vendorId: '8086',
      deviceId: '1237',
      classId: '0600',
      name: 'Intel Corporation 440FX - 82441FX PMC [Natoma]',
    });
    expect(f1[2]).toMatchObject({ slot: '0000:00:01.3', deviceId: '7113', classId: '0000' });
    const u250 = parseLspci(fx('lspci-alveo-u250.txt'));
    expect(u250.map((f) => `${f.slot} ${f.vendorId}:${f.deviceId} ${f.classId}`)).toEqual([
      '0000:00:00.0 8086:2020 0600',
      '0000:3b:00.0 8086:1572 0200',
      '0000:af:00.0 10ee:5004 1200',
      '0000:af:00.1 10ee:5005 1200',
      '0000:b1:00.0 10ee:903f 0700',
    ]);
    expect(parseLspci(fx('lspci-intel-fpga.txt'))[1]).toMatchObject({
      slot: '0000:3b:00.0',
      deviceId: '0b2b',
    });
  });
});

describe('FPGA detection', () => {
  it('Xilinx Alveo U250: management and user PF are one card; a card showing only JTAG/UART counts too', () => {
    expect(detectFpgas(parseLspci(fx('lspci-alveo-u250.txt')))).toEqual([
      {
        vendor: 'Xilinx',
        vendorId: '10ee',
        deviceId: '5004',
        slot: '0000:af:00.0',
        functions: ['0000:af:00.0', '0000:af:00.1'],
        model: 'Alveo U250 XDMA Platform',
      },
      {
        vendor: 'Xilinx',
        vendorId: '10ee',
        deviceId: '903f',
        slot: '0000:b1:00.0',
        functions: ['0000:b1:00.0'],
      },
    ]);
  });

  it('AWS F1: the application PF (1042, cleared) only; not the mailbox PF, ENA, NVMe or VGA', () => {
    expect(detectFpgas(parseLspci(fx('lspci-ec2-f1.txt')))).toEqual([
      {
        vendor: 'AWS',
        vendorId: '1d0f',
        deviceId: '1042',
        slot: '0000:00:1d.0',
        functions: ['0000:00:1d.0'],
        model: 'AWS F1 FPGA (cleared)',
      },
    ]);
    const loaded = fx('lspci-ec2-f1.txt').replace('[1d0f:1042]', '[1d0f:f010]');
    expect(detectFpgas(parseLspci(loaded))[0]).toMatchObject({
      deviceId: 'f010',
      model: 'AWS F1 FPGA (Vitis AFI)',
    });
  });

  it('AWS F2 from sysfs: 9048, not its 9248 management PF', () => {
    expect(detectFpgas(parseSysfsPci(fx('pci-sysfs-ec2-f2.txt')))).toEqual([
      {
        vendor: 'AWS',
        vendorId: '1d0f',
        deviceId: '9048',
        slot: '0000:34:00.0',
        functions: ['0000:34:00.0'],
        model: 'AWS F2 FPGA',
      },
    ]);
  });

  it('Intel PACs and Altera: a PF and its VF are one card; a lone VF counts when no PF is there', () => {
    const fpgas = detectFpgas(parseLspci(fx('lspci-intel-fpga.txt')));
    expect(fpgas.map((f) => [f.vendor, f.deviceId, f.functions.length, f.model])).toEqual([
      ['Intel', '0b2b', 2, 'PAC with Intel Stratix 10 SX FPGA [FPGA PAC D5005]'],
      ['Intel', '09c4', 1, 'PAC with Intel Arria 10 GX FPGA'],
      ['Altera', '00a7', 1, 'Stratix V'],
    ]);
    const vfOnly = '0000:00:06.0 Processing accelerators [1200]: Intel Corporation Device [8086:09c5]';
    expect(detectFpgas(parseLspci(vfOnly)).map((f) => f.deviceId)).toEqual(['09c5']);
    // A VF passed through next to a PF elsewhere is the same FPGA: only the PF counts.
    const both = `${fx('lspci-intel-fpga.txt')}\n${vfOnly}`;
    expect(detectFpgas(parseLspci(both)).filter((f) => f.vendor === 'Intel')).toHaveLength(2);
  });

  it('xbutil names the shell of the card whose user PF it lists', () => {
    const xb = parseXbutilJson(fx('xbutil-examine.json'))!;
    const lspci =
      '04:00.0 Processing accelerators [1200]: Xilinx Corporation Device [10ee:505c]\n04:00.1 Processing accelerators [1200]: Xilinx Corporation Device [10ee:505d]';
    expect(detectFpgas(parseLspci(lspci), xb.devices)).toEqual([
      {
        vendor: 'Xilinx',
        vendorId: '10ee',
        deviceId: '505c',
        slot: '0000:04:00.0',
        functions: ['0000:04:00.0', '0000:04:00.1'],
        model: 'Alveo U55C',
        shell: 'xilinx_u55c_gen3x16_xdma_base_3',
      },
    ]);
  });

  it('no FPGA on the recorded VM (virtio devices of vendor 1af4)', () => {
    expect(detectFpgas(parseSysfsPci(recorded().sections.pci!))).toEqual([]);
  });
});

describe('xbutil examine', () => {
  it('XRT 2.13 table: ready and golden devices; per-device report ignored', () => {
    expect(parseXbutilText(fx('xbutil-examine-2.13.txt'))).toEqual({
      xrtVersion: '2.13.0',
      devices: [
        {
          bdf: '0000:65:00.0',
          shell: 'xilinx_u280_xdma_201920_3',
          id: '0x5e278820',
          instance: 'mgmt(inst=25856)',
          ready: true,
        },
        { bdf: '0000:17:00.0', shell: 'xilinx_u250_GOLDEN_5', ready: false },
      ],
    });
  });

  it('six U50LV cards (xbtest documentation)', () => {
    const r = parseXbutilText(fx('xbutil-examine-u50lv.txt'))!;
    expect(r.devices.map((d) => d.bdf)).toEqual([
      '0000:d8:00.1',
      '0000:af:00.1',
      '0000:86:00.1',
      '0000:5e:00.1',
      '0000:3b:00.1',
      '0000:18:00.1',
    ]);
    expect(r.devices[0]).toEqual({
      bdf: '0000:d8:00.1',
      shell: 'xilinx_u50lv_gen3x4_xdma_base_2',
      id: 'CA1BD561-0169-A52C-E463-B3300DF98172',
      instance: 'user(inst=133)',
      ready: true,
    });
  });

  it('XRT 2.12 and 2.7 one-line forms', () => {
    expect(parseXbutilText(fx('xbutil-examine-2.12.txt'))).toEqual({
      xrtVersion: '2.12.0',
      devices: [
        {
          bdf: '0000:17:00.1',
          shell: 'xilinx_u200_gen3x16_xdma_base_1',
          id: '15FB8DA1-F552-A9F9-23DE-6DC54AA8968F',
          instance: 'user(inst=129)',
        },
      ],
    });
    expect(parseXbutilText(fx('xbutil-examine-2.7.txt'))).toEqual({
      xrtVersion: '2.7.0',
      devices: [{ bdf: '0000:b3:00.1', shell: 'xilinx_u200_xdma_201830_3', id: '0x5ee83d83' }],
    });
  });

  it('JSON report; warnings around it are ignored; other text is not a report', () => {
    const expected = {
      xrtVersion: '2.17.0',
      devices: [
        {
          bdf: '0000:04:00.1',
          shell: 'xilinx_u55c_gen3x16_xdma_base_3',
          id: '97088961-FEAE-DA91-52A2-1D9DFD63CCEF',
          instance: 'user(inst=128)',
          ready: true,
        },
      ],
    };
    expect(parseXbutilJson(fx('xbutil-examine.json'))).toEqual(expected);
    const warned = `WARNING: Unexpected xocl version (2.16.0) was found. Expected 2.17.0, to match XRT tools.\n${fx('xbutil-examine.json')}`;
    expect(parseXbutilJson(warned)).toEqual(expected);
    expect(parseXbutilJson('{"schema_version":{}}')).toBeUndefined();
    expect(parseXbutilText('xbutil: command failed')).toBeUndefined();
  });
});

describe('GPUs', () => {
  it.each([
    [
      'tesla-t4.xml',
      {
        model: 'Tesla T4',
        driverVersion: '515.105.01',
        cudaVersion: '11.7',
        architecture: 'Turing',
        memoryTotalBytes: 15360 * MIB,
        maxClocksMHz: { graphics: 1590, sm: 1590, memory: 5001, video: 1470 },
        powerLimitsWatts: { default: 70, enforced: 70, min: 60, max: 70 },
        persistenceMode: false,
        eccEnabled: true,
      },
    ],
    [
      'a10g.xml',
      {
        model: 'NVIDIA A10G',
        driverVersion: '515.105.01',
        memoryTotalBytes: 23028 * MIB,
        maxClocksMHz: { graphics: 1710, sm: 1710, memory: 6251, video: 1500 },
        powerLimitsWatts: { default: 300, enforced: 300, min: 100, max: 300 },
        persistenceMode: false,
        eccEnabled: true,
      },
    ],
    [
      'a100-sxm4-v12.xml',
      {
        model: 'NVIDIA A100-SXM4-80GB',
        driverVersion: '535.54.03',
        cudaVersion: '12.2',
        memoryTotalBytes: 81920 * MIB,
        maxClocksMHz: { graphics: 1410, sm: 1410, memory: 1593, video: 1290 },
        powerLimitsWatts: { default: 500, enforced: 500, min: 100, max: 500 },
        eccEnabled: true,
        migEnabled: true,
      },
    ],
    [
      'rtx-3080-v13.xml',
      {
        model: 'NVIDIA GeForce RTX 3080',
        driverVersion: '595.58.03',
        cudaVersion: '13.2',
        memoryTotalBytes: 10240 * MIB,
        maxClocksMHz: { graphics: 2100, sm: 2100, memory: 9501, video: 1950 },
        powerLimitsWatts: { default: 320, enforced: 320, min: 100, max: 336 },
      },
    ],
  ])('nvidia-smi -q -x %s', (file, expected) => {
    const gpus = gpusFromNvidiaSmi(smi(file));
    expect(gpus).toHaveLength(1);
    expect(gpus[0]).toMatchObject({ index: 0, source: 'nvidia-smi', ...expected });
    expect(gpus[0]!.uuid).toMatch(/^GPU-[0-9a-f-]{36}$/);
  });

  it('GeForce: no ECC and no MIG fields; not nvidia-smi XML: throws', () => {
    const rtx = gpusFromNvidiaSmi(smi('rtx-3080-v13.xml'))[0]!;
    expect(rtx).not.toHaveProperty('eccEnabled');
    expect(rtx).not.toHaveProperty('migEnabled');
    expect(() =>
      gpusFromNvidiaSmi("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver."),
    ).toThrow(/nvidia_smi_log/);
  });

  it('procfs: driver version in both module formats; model and uuid per GPU', () => {
    expect(parseNvidiaDriverVersion(fx('nvidia-proc-version-legacy.txt'))).toBe('384.98');
    expect(parseNvidiaDriverVersion(fx('nvidia-proc-version-open.txt'))).toBe('565.57.01');
    expect(gpusFromProcfs({ '0000:04:00.0': fx('nvidia-proc-gpu-information.txt') }, '384.98')).toEqual([
      {
        index: 0,
        model: 'GeForce GTX 650',
        uuid: 'GPU-e3f822b9-8c5f-95a5-b379-8dfdeefd7758',
        pciBusId: '0000:04:00.0',
        driverVersion: '384.98',
        source: 'procfs',
      },
    ]);
  });

  it('PCI: NVIDIA display functions only', () => {
    expect(gpusFromPci(parseSysfsPci(fx('pci-sysfs-ec2-g4dn.txt')))).toEqual([
      {
        index: 0,
        model: 'NVIDIA [10de:1eb8]',
        pciBusId: '0000:00:1e.0',
        pciDeviceId: '10de:1eb8',
        source: 'pci',
      },
    ]);
    expect(gpusFromPci(parseSysfsPci(recorded().sections.pci!))).toEqual([]);
  });
});

describe('OS, kernel, virtualization, Docker', () => {
  it('os-release and kernel major.minor', () => {
    expect(parseOsRelease(recorded().sections['os-release']!)).toEqual({
      id: 'debian',
      versionId: '12',
      prettyName: 'Debian GNU/Linux 12 (bookworm)',
    });
    expect(parseOsRelease('ID=\'amzn\'\nVERSION_ID="2023"\n')).toEqual({ id: 'amzn', versionId: '2023' });
    expect(kernelMajorMinor('6.18.44-fc-v782')).toBe('6.18');
    expect(kernelMajorMinor('5.15.0-1051-aws')).toBe('5.15');
  });

  it.each([
    ['sys_vendor=Amazon EC2\nproduct_name=g4dn.xlarge', true, 'nitro'],
    ['sys_vendor=Amazon EC2\nproduct_name=c5.metal', false, 'none'],
    ['sys_vendor=Xen\nproduct_name=HVM domU\nhypervisor_type=xen', true, 'xen'],
    ['sys_vendor=QEMU\nproduct_name=Standard PC (i440FX + PIIX, 1996)', true, 'kvm'],
    ['sys_vendor=Google\nproduct_name=Google Compute Engine', true, 'kvm'],
    ['sys_vendor=Microsoft Corporation\nproduct_name=Virtual Machine', true, 'hyperv'],
    ['sys_vendor=VMware, Inc.\nproduct_name=VMware7,1', true, 'vmware'],
    ['sys_vendor=Dell Inc.\nproduct_name=PowerEdge R750\ncontainer=lxc', false, 'container'],
    ['sys_vendor=Dell Inc.\nproduct_name=PowerEdge R750', false, 'none'],
    ['', true, 'vm'],
  ] as const)('virt %j, hypervisor flag %s → %s', (virt, flag, expected) => {
    expect(detectVirtualization(virt, flag)).toBe(expected);
  });

  it('docker info/version: versions, drivers, runtimes, nvidia runtime', () => {
    expect(parseDockerInfo(json('docker-info.json'), json('docker-version.json'))).toEqual({
      version: '17.06.1-ce',
      apiVersion: '1.47',
      storageDriver: 'overlay2',
      cgroupDriver: 'cgroupfs',
      rootDir: '/var/lib/docker',
      defaultRuntime: 'runc',
      runtimes: ['runc'],
      nvidiaRuntime: false,
    });
    expect(parseDockerInfo(json('docker-info-nvidia.json'))).toMatchObject({
      version: '24.0.7',
      cgroupDriver: 'systemd',
      cgroupVersion: '2',
      runtimes: ['io.containerd.runc.v2', 'nvidia', 'runc'],
      nvidiaRuntime: true,
    });
    expect(parseDockerInfo(undefined, json('docker-version.json'))).toMatchObject({ version: '27.0.1' });
    expect(parseDockerInfo('nonsense')).toBeUndefined();
  });
});

/** An EC2 g4dn.xlarge as the probe would see it (sections assembled from the fixtures). */
function g4dn(edit: { xml?: string; uuid?: string; memFreeKb?: number; name?: string } = {}) {
  const xml = (edit.xml ?? smi('tesla-t4.xml')).replace(
    'GPU-d37e67a5-91dd-3774-a5cb-99096249601a',
    edit.uuid ?? 'GPU-d37e67a5-91dd-3774-a5cb-99096249601a',
  );
  const info: Record<string, unknown> = {
    ...(json('docker-info-nvidia.json') as Record<string, unknown>),
    Name: edit.name ?? 'ip-172-31-5-17',
  };
  return {
    sections: {
      cpuinfo: fx('cpuinfo-ec2-xeon-8259cl.txt'),
      caches: '1\tData\t32K\n1\tInstruction\t32K\n2\tUnified\t1024K\n3\tUnified\t36608K',
      meminfo: `MemTotal:       16183136 kB\nMemFree:        ${edit.memFreeKb ?? 14000000} kB\nHugePages_Total:       0\nHugepagesize:       2048 kB`,
      kernel: '5.15.0-1051-aws',
      'os-release': 'NAME="Ubuntu"\nVERSION_ID="22.04"\nPRETTY_NAME="Ubuntu 22.04.3 LTS"\nID=ubuntu',
      disks:
        'nvme0n1\t262144000\t0\tAmazon Elastic Block Store\nnvme1n1\t244140625\t0\tAmazon EC2 NVMe Instance Storage',
      virt: 'sys_vendor=Amazon EC2\nproduct_name=g4dn.xlarge',
      pci: fx('pci-sysfs-ec2-g4dn.txt'),
      'nvidia-smi': xml,
      end: '',
    },
    complete: true,
    dockerInfo: info,
    dockerVersion: json('docker-version.json'),
  };
}

describe('buildFingerprint', () => {
  it('the recorded VM: every section read, no GPU, no FPGA, nothing to complain about', () => {
    const { sections, complete } = recorded();
    const fp = buildFingerprint({ sections, complete });
    expect(fp).toMatchObject({
      cpu: { model: 'AMD EPYC', cores: 2, threads: 2, caches: expect.any(Array) },
      memory: { totalBytes: 24683656 * 1024, transparentHugepages: 'madvise' },
      disks: [{ name: 'vda' }],
      kernel: '6.18.44-fc-v782',
      os: { id: 'debian', versionId: '12' },
      virtualization: 'vm',
      gpus: [],
      fpgas: [],
      problems: [],
    });
    expect(fp.cpu).not.toHaveProperty('governor');
    expect(fp).not.toHaveProperty('docker');
  });

  it('an EC2 g4dn with nvidia-smi in the probe: T4 details, nitro, docker with the nvidia runtime', () => {
    const fp = buildFingerprint(g4dn());
    expect(fp.virtualization).toBe('nitro');
    expect(fp.gpus).toEqual([
      expect.objectContaining({ model: 'Tesla T4', source: 'nvidia-smi', eccEnabled: true }),
    ]);
    expect(fp.docker).toMatchObject({ storageDriver: 'overlay2', nvidiaRuntime: true });
    expect(fp.disks?.map((d) => d.model)).toEqual([
      'Amazon Elastic Block Store',
      'Amazon EC2 NVMe Instance Storage',
    ]);
    expect(fp.problems).toEqual([]);
  });

  it('nvidia-smi failing: the GPU still comes from PCI, and the failure is a problem', () => {
    const raw = g4dn();
    raw.sections['nvidia-smi'] =
      "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.";
    const fp = buildFingerprint({ ...raw, sections: { ...raw.sections, tools: 'nvidia-smi=9' } });
    expect(fp.gpus).toEqual([
      {
        index: 0,
        model: 'NVIDIA [10de:1eb8]',
        pciBusId: '0000:00:1e.0',
        pciDeviceId: '10de:1eb8',
        source: 'pci',
      },
    ]);
    expect(fp.problems).toEqual([
      'nvidia-smi exited with status 9',
      expect.stringMatching(/^section nvidia-smi: not nvidia-smi -q -x output/),
    ]);
  });

  it('missing sections leave fields absent; a cut-off probe and collection problems are reported', () => {
    const fp = buildFingerprint({ sections: { kernel: '6.1.0-18-amd64' }, complete: false, problems: ['x'] });
    expect(fp).toEqual({
      kernel: '6.1.0-18-amd64',
      problems: ['x', 'the probe stopped before its end: later sections are missing'],
    });
    expect(buildFingerprint({ sections: {} })).toEqual({ problems: [] });
  });
});

describe('fingerprintHash', () => {
  const hash = (raw: ReturnType<typeof g4dn>) => fingerprintHash(buildFingerprint(raw));

  it('16 hex digits; the same for identical machines that differ in uuid, host name, free memory', () => {
    const a = hash(g4dn());
    expect(a).toMatch(/^[0-9a-f]{16}$/);
    expect(
      hash(g4dn({ uuid: 'GPU-00000000-1111-2222-3333-444444444444', name: 'ip-10-0-0-9', memFreeKb: 1 })),
    ).toBe(a);
    const other = g4dn();
    other.sections.cpuinfo = other.sections.cpuinfo.replaceAll('0x5002f01', '0x5003604');
    other.sections.pci = other.sections.pci.replace('0000:00:1e.0', '0000:00:1f.0');
    other.sections.kernel = '5.15.0-1066-aws';
    expect(hash(other)).toBe(a);
  });

  it('differs with the GPU count, the GPU model, the kernel minor, the storage driver', () => {
    const a = hash(g4dn());
    const t4 = smi('tesla-t4.xml');
    const gpu = t4.slice(t4.indexOf('<gpu id='), t4.indexOf('</gpu>') + '</gpu>'.length);
    const two = t4.replace('</gpu>', `</gpu>\n${gpu.replace('GPU-d37e67a5', 'GPU-00000000')}`);
    expect(hash(g4dn({ xml: two }))).not.toBe(a);
    expect(hash(g4dn({ xml: smi('a10g.xml') }))).not.toBe(a);
    const kernel = g4dn();
    kernel.sections.kernel = '6.1.0-1019-aws';
    expect(hash(kernel)).not.toBe(a);
    const storage = g4dn();
    storage.dockerInfo = { ...storage.dockerInfo, Driver: 'btrfs' };
    expect(hash(storage)).not.toBe(a);
  });

  it('hashes a canonical view: GPUs grouped with a count, selected flags only', () => {
    const key = fingerprintKey(buildFingerprint(g4dn()));
    expect(key).toMatchObject({
      memoryGiB: 15,
      kernel: '5.15',
      gpus: [
        {
          model: 'Tesla T4',
          memoryGiB: 15,
          driverMajor: '515',
          pciDeviceId: '10de:1eb8',
          powerLimitW: 70,
          ecc: true,
          mig: null,
          count: 1,
        },
      ],
      fpgas: [],
      storageDriver: 'overlay2',
      virtualization: 'nitro',
    });
    expect((key.cpu as { flags: string[] }).flags).toEqual([
      'aes',
      'avx',
      'avx2',
      'avx512bw',
      'avx512cd',
      'avx512dq',
      'avx512f',
      'avx512vl',
      'fma',
    ]);
    const reordered: Fingerprint = JSON.parse(JSON.stringify(buildFingerprint(g4dn())));
    expect(fingerprintHash({ ...reordered, problems: ['anything'] })).toBe(hash(g4dn()));
  });
});

describe('fingerprintHash: the GPU settings that change performance', () => {
  const hash = (raw: ReturnType<typeof g4dn>) => fingerprintHash(buildFingerprint(raw));
  // Synthetic edits of the recorded T4 file (test/fixtures/nvidia-smi/tesla-t4.xml), each one
  // setting as `nvidia-smi -pl` / `-e` would leave it.
  const t4 = smi('tesla-t4.xml');
  const capped = t4.replace(
    '<enforced_power_limit>70.00 W</enforced_power_limit>',
    '<enforced_power_limit>60.00 W</enforced_power_limit>',
  );
  const eccOff = t4.replace(
    /<ecc_mode>\s*<current_ecc>Enabled<\/current_ecc>/,
    '<ecc_mode>\n            <current_ecc>Disabled</current_ecc>',
  );

  it('the power limit in force, the ECC mode and the PCI device id each change the hash', () => {
    const a = hash(g4dn());
    expect(capped).not.toBe(t4);
    expect(eccOff).not.toBe(t4);
    expect(hash(g4dn({ xml: capped }))).not.toBe(a);
    expect(hash(g4dn({ xml: eccOff }))).not.toBe(a);
    expect(hash(g4dn({ xml: t4.replace('<pci_device_id>1EB810DE', '<pci_device_id>1EB910DE') }))).not.toBe(a);
    // a limit read a hair off is the same limit
    expect(
      hash(g4dn({ xml: t4.replace('<enforced_power_limit>70.00 W', '<enforced_power_limit>69.98 W') })),
    ).toBe(a);
  });

  it('the MIG mode changes the hash (A100, recorded with MIG on)', () => {
    const a100 = smi('a100-sxm4-v12.xml');
    const migOff = a100.replace('<current_mig>Enabled</current_mig>', '<current_mig>Disabled</current_mig>');
    expect(migOff).not.toBe(a100);
    const keyOf = (xml: string) => fingerprintKey(buildFingerprint(g4dn({ xml }))).gpus as { mig: unknown }[];
    expect(keyOf(a100)[0]!.mig).toBe(true);
    expect(keyOf(migOff)[0]!.mig).toBe(false);
    expect(hash(g4dn({ xml: migOff }))).not.toBe(hash(g4dn({ xml: a100 })));
  });

  it('a machine without GPUs keeps the hash it had before these inputs were added', () => {
    // Pinned from the hash of the recorded VM taken before the change.
    const { sections, complete } = recorded();
    expect(fingerprintHash(buildFingerprint({ sections, complete }))).toBe('3c12dc95b39f809f');
    expect(GPU_KEY_FIELDS).toEqual([
      'model',
      'memoryGiB',
      'driverMajor',
      'pciDeviceId',
      'powerLimitW',
      'ecc',
      'mig',
    ]);
  });
});

describe('GPUs unknown, never "none", when nvidia-smi cannot be read', () => {
  const unreadable = '<?xml version="1.0" ?>\n<nvidia_smi_log><timestamp>'; // cut off

  it('unreadable nvidia-smi and no PCI or procfs: GPUs absent (unknown), the problem said', () => {
    const fp = buildFingerprint({ sections: { 'nvidia-smi': unreadable } });
    expect(fp).not.toHaveProperty('gpus');
    expect(fp.problems).toEqual([expect.stringMatching(/^section nvidia-smi: /)]);
  });

  it('unreadable nvidia-smi and no NVIDIA function on the PCI bus: still unknown, not []', () => {
    const { sections } = recorded();
    const fp = buildFingerprint({ sections: { ...sections, 'nvidia-smi': unreadable } });
    expect(fp).not.toHaveProperty('gpus');
    // nvidia-smi saying so itself is evidence of none
    const none = buildFingerprint({ sections: { ...sections, 'nvidia-smi': 'No devices were found' } });
    expect(none.gpus).toEqual([]);
  });

  it('a zeroed PCI id in nvidia-smi (the A10G file) is taken from the PCI function at its address', () => {
    const a10g = gpusFromNvidiaSmi(smi('a10g.xml'));
    expect(a10g[0]).not.toHaveProperty('pciDeviceId');
    // synthetic PCI function: the A10G's address from the file (00000000:00:1E.0), its id 10de:2237
    const bus = [{ slot: '0000:00:1e.0', vendorId: '10de', deviceId: '2237', classId: '0302' }];
    expect(withPciDeviceIds(a10g, bus)[0]!.pciDeviceId).toBe('10de:2237');
    expect(withPciDeviceIds(a10g, [{ ...bus[0]!, slot: '0001:00:1e.0' }])[0]).not.toHaveProperty(
      'pciDeviceId',
    );
  });

  it('procfs GPUs get their PCI id from the PCI section at the same bus address', () => {
    const fp = buildFingerprint({
      sections: {
        'nvidia-gpu 0000:00:1e.0': fx('nvidia-proc-gpu-information.txt').replace(
          '0000:04:00.0',
          '0000:00:1e.0',
        ),
        pci: fx('pci-sysfs-ec2-g4dn.txt'),
      },
    });
    expect(fp.gpus).toEqual([expect.objectContaining({ source: 'procfs', pciDeviceId: '10de:1eb8' })]);
  });
});

describe('toHardwareFacts', () => {
  it('summarises for the core port: logical CPUs, memory, accelerators by model', () => {
    expect(toHardwareFacts(buildFingerprint(g4dn()))).toEqual({
      cpuModel: 'Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz',
      cpuCores: 4,
      memoryBytes: 16183136 * 1024,
      kernel: '5.15.0-1051-aws',
      gpus: [{ model: 'Tesla T4', count: 1, memoryMiB: 15360, pciDeviceId: '10de:1eb8' }],
      fpgas: [],
    });
    const fpgas = buildFingerprint({ sections: { lspci: fx('lspci-alveo-u250.txt') } });
    expect(toHardwareFacts(fpgas).fpgas).toEqual([
      { model: 'Alveo U250 XDMA Platform', count: 1 },
      { model: '10ee:903f', count: 1 },
    ]);
  });
});

interface Behaviour {
  /** What the container prints; `run`: the real script, run by `sh` here with the host root at `/`. */
  output: string | 'run';
  exitCode?: number;
  /** Never exits by itself. */
  hang?: boolean;
  /** Start fails when the container asks for GPUs. */
  refuseGpus?: boolean;
  missingImage?: boolean;
  info?: unknown;
  unreachable?: boolean;
}

/** A stand-in for dockerode: the calls `collectFingerprint` makes, recorded. */
class FakeEngine {
  readonly created: Docker.ContainerCreateOptions[] = [];
  readonly removed: string[] = [];
  readonly killed: string[] = [];
  constructor(private readonly b: Behaviour) {}

  async info(): Promise<unknown> {
    if (this.b.unreachable)
      throw Object.assign(new Error('connect ECONNREFUSED /var/run/docker.sock'), { code: 'ECONNREFUSED' });
    return this.b.info ?? json('docker-info.json');
  }
  async version(): Promise<unknown> {
    return json('docker-version.json');
  }
  readonly modem = {
    demuxStream: (stream: NodeJS.ReadableStream, stdout: NodeJS.WritableStream) => {
      stream.on('data', (chunk: Buffer) => stdout.write(chunk));
    },
  };

  async createContainer(opts: Docker.ContainerCreateOptions) {
    if (this.b.missingImage) {
      throw Object.assign(new Error('(HTTP code 404) no such container'), {
        statusCode: 404,
        json: { message: `No such image: ${opts.Image}` },
      });
    }
    this.created.push(opts);
    const id = `fake${this.created.length}`.padEnd(64, '0');
    const stream = new PassThrough();
    let exit = () => {};
    const exited = new Promise<void>((resolve) => (exit = resolve));
    return {
      id,
      attach: async () => stream,
      start: async () => {
        if (this.b.refuseGpus && opts.HostConfig?.DeviceRequests) {
          throw Object.assign(new Error('(HTTP code 500) server error'), {
            statusCode: 500,
            json: { message: 'could not select device driver "nvidia" with capabilities: [[gpu]]' },
          });
        }
        if (this.b.output === 'run') {
          const child = spawn(opts.Cmd![0]!, opts.Cmd!.slice(1), {
            env: { ...process.env, BENCHYARD_PROBE_ROOT: '/' },
          });
          child.stdout.pipe(stream);
          child.on('close', () => exit());
        } else if (!this.b.hang) {
          stream.end(this.b.output);
          exit();
        }
      },
      wait: async () => {
        await exited;
        return { StatusCode: this.b.exitCode ?? 0 };
      },
      inspect: async () => ({ State: { ExitCode: this.b.exitCode ?? 0 } }),
      kill: async () => {
        this.killed.push(id);
        stream.end();
        exit();
      },
      remove: async () => {
        this.removed.push(id);
      },
    };
  }

  get docker(): Docker {
    return this as unknown as Docker;
  }
}

describe('collectFingerprint against a stand-in engine', () => {
  const image = 'benchyard/base:bookworm';

  it('runs the probe read-only, offline, labelled, and removes the container', async () => {
    const engine = new FakeEngine({ output: fx('probe-firecracker-vm.txt') });
    const fp = await collectFingerprint(engine.docker, { image, labels: { 'io.benchyard.session': 's1' } });
    expect(fp).toMatchObject({
      cpu: { model: 'AMD EPYC' },
      docker: { storageDriver: 'overlay2' },
      problems: [],
    });
    expect(engine.created).toHaveLength(1);
    const opts = engine.created[0]!;
    expect(opts).toMatchObject({
      Image: image,
      Labels: {
        'benchyard.probe': 'fingerprint',
        'io.benchyard.managed': 'true',
        'io.benchyard.session': 's1',
      },
      HostConfig: {
        NetworkMode: 'none',
        AutoRemove: false,
        Binds: ['/proc:/host/proc:ro', '/sys:/host/sys:ro', '/etc/os-release:/host/etc/os-release:ro'],
      },
    });
    expect(opts.Cmd?.slice(0, 2)).toEqual(['sh', '-c']);
    expect(opts.HostConfig).not.toHaveProperty('DeviceRequests');
    expect(engine.removed).toHaveLength(1);
  });

  it('with an nvidia runtime asks for GPUs; when refused, probes again without them', async () => {
    const info = json('docker-info-nvidia.json');
    const asked = new FakeEngine({ output: fx('probe-firecracker-vm.txt'), info });
    await collectFingerprint(asked.docker, { image });
    expect(asked.created[0]!.HostConfig?.DeviceRequests).toEqual([
      { Driver: 'nvidia', Count: -1, Capabilities: [['gpu']] },
    ]);
    expect(asked.created[0]!.Env).toContain('NVIDIA_DRIVER_CAPABILITIES=utility');

    const refused = new FakeEngine({ output: fx('probe-firecracker-vm.txt'), info, refuseGpus: true });
    const fp = await collectFingerprint(refused.docker, { image });
    expect(refused.created.map((c) => c.HostConfig?.DeviceRequests !== undefined)).toEqual([true, false]);
    expect(refused.removed).toHaveLength(2);
    expect(fp.cpu?.model).toBe('AMD EPYC');
    expect(fp.problems).toEqual([
      expect.stringMatching(
        /^the engine refused the GPUs \(container \w+ \(benchyard\/base:bookworm\) asks for NVIDIA GPUs/,
      ),
    ]);
  });

  it('a probe that cannot run costs its sections, not the engine facts', async () => {
    const engine = new FakeEngine({ output: '', missingImage: true });
    const fp = await collectFingerprint(engine.docker, { image: 'benchyard/none:1' });
    expect(fp).toEqual({
      docker: expect.objectContaining({ version: '17.06.1-ce' }),
      problems: [
        expect.stringMatching(
          /^probe container failed: creating container 'benchyard-probe-[\w-]+' from 'benchyard\/none:1': No such image: benchyard\/none:1 \(HTTP 404\)$/,
        ),
      ],
    });
  });

  it('a probe that hangs is killed at the timeout and removed; what it printed is kept', async () => {
    const engine = new FakeEngine({ output: '', hang: true });
    const fp = await collectFingerprint(engine.docker, { image, timeoutMs: 50 });
    expect(engine.killed).toHaveLength(1);
    expect(engine.removed).toHaveLength(1);
    expect(fp.problems).toEqual([
      'probe killed after 50 ms',
      'the probe stopped before its end: later sections are missing',
    ]);
  });

  it('a failing probe: its exit status and stderr tail are problems, its sections still count', async () => {
    const text = fx('probe-firecracker-vm.txt');
    const engine = new FakeEngine({ output: text.slice(0, text.indexOf('==> benchyard:pci')), exitCode: 2 });
    const fp = await collectFingerprint(engine.docker, { image });
    expect(fp.kernel).toBe('6.18.44-fc-v782');
    expect(fp).not.toHaveProperty('gpus');
    expect(fp.problems).toEqual([
      'probe exited with status 2',
      'the probe stopped before its end: later sections are missing',
    ]);
  });

  it('abort: kills, removes, rejects with CancelledError; an unreachable engine rejects', async () => {
    const engine = new FakeEngine({ output: '', hang: true });
    const ac = new AbortController();
    const collecting = collectFingerprint(engine.docker, { image, signal: ac.signal });
    setTimeout(() => ac.abort(), 20);
    await expect(collecting).rejects.toBeInstanceOf(CancelledError);
    expect(engine.removed).toHaveLength(1);
    await expect(
      collectFingerprint(new FakeEngine({ output: '', unreachable: true }).docker, { image }),
    ).rejects.toBeInstanceOf(InfrastructureError);
  });

  it('the real script, run by sh on this machine, reads this machine', async () => {
    const engine = new FakeEngine({ output: 'run' });
    const fp = await collectFingerprint(engine.docker, { image });
    const modelName = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1];
    expect(fp.problems).toEqual([]);
    expect(fp.cpu?.model).toBe(modelName);
    expect(fp.cpu?.threads).toBe(os.cpus().length);
    expect(fp.kernel).toBe(os.release());
    expect(fp.memory?.totalBytes).toBe(os.totalmem());
    expect(fp.gpus).toEqual([]);
    const again = await collectFingerprint(engine.docker, { image });
    expect(fingerprintHash(again)).toBe(fingerprintHash(fp));
  });
});

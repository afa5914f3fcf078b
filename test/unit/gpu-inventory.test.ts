// Recorded nvidia-smi -q -x outputs of real GPUs: test/fixtures/nvidia-smi/SOURCE.md
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseGpuInventoryXml, pciIdOf } from '../../src/metrics/gpu/index.js';
import { ROOT } from '../helpers/catalog.js';

const xml = (name: string) => readFileSync(path.join(ROOT, 'test/fixtures/nvidia-smi', name), 'utf8');
const MIB = 1024 * 1024;

describe('parseGpuInventoryXml against recorded nvidia-smi -q -x', () => {
  it('Tesla T4 (schema v11)', () => {
    expect(parseGpuInventoryXml(xml('tesla-t4.xml'))).toEqual({
      driverVersion: '515.105.01',
      cudaVersion: '11.7',
      gpus: [
        {
          index: 0,
          uuid: 'GPU-d37e67a5-91dd-3774-a5cb-99096249601a',
          name: 'Tesla T4',
          pciBusId: '00000000:00:1E.0',
          pciDeviceId: '10de:1eb8',
          memoryTotalBytes: 15360 * MIB,
          powerLimitWatts: 70,
        },
      ],
    });
  });

  it('A10G (schema v11): its published file has the PCI id zeroed (000000DE), so none', () => {
    expect(parseGpuInventoryXml(xml('a10g.xml'))).toEqual({
      driverVersion: '515.105.01',
      cudaVersion: '11.7',
      gpus: [
        {
          index: 0,
          uuid: 'GPU-9a9a6c50-2a47-2f51-a902-b82c3b127e94',
          name: 'NVIDIA A10G',
          pciBusId: '00000000:00:1E.0',
          memoryTotalBytes: 23028 * MIB,
          powerLimitWatts: 300,
        },
      ],
    });
  });

  it('A100 in MIG mode (schema v12): the GPU total, not a MIG slice; gpu_power_readings', () => {
    // The file holds one <gpu> although it says <attached_gpus>4</attached_gpus>.
    expect(parseGpuInventoryXml(xml('a100-sxm4-v12.xml'))).toEqual({
      driverVersion: '535.54.03',
      cudaVersion: '12.2',
      gpus: [
        {
          index: 0,
          uuid: 'GPU-513536b6-7d19-9063-b049-1e69664bb298',
          name: 'NVIDIA A100-SXM4-80GB',
          pciBusId: '00000000:01:00.0',
          pciDeviceId: '10de:20b2',
          memoryTotalBytes: 81920 * MIB,
          powerLimitWatts: 500,
        },
      ],
    });
  });

  it('GeForce RTX 3080 (schema v13, tab-indented)', () => {
    expect(parseGpuInventoryXml(xml('rtx-3080-v13.xml'))).toEqual({
      driverVersion: '595.58.03',
      cudaVersion: '13.2',
      gpus: [
        {
          index: 0,
          uuid: 'GPU-19d6d965-2acc-f646-00f8-4c76979aabb4',
          name: 'NVIDIA GeForce RTX 3080',
          pciBusId: '00000000:0C:00.0',
          pciDeviceId: '10de:2216',
          memoryTotalBytes: 10240 * MIB,
          powerLimitWatts: 320,
        },
      ],
    });
  });
});

describe('parseGpuInventoryXml on synthetic documents', () => {
  // Built from the T4 recording: two copies of its <gpu> element, the second edited.
  const t4 = xml('tesla-t4.xml');
  const gpu = t4.slice(t4.indexOf('<gpu id='), t4.indexOf('</gpu>') + '</gpu>'.length);

  it('several GPUs are indexed in document order; N/A values are left out', () => {
    const second = gpu
      .replace('GPU-d37e67a5-91dd-3774-a5cb-99096249601a', 'GPU-00000000-0000-0000-0000-000000000001')
      .replace('<total>15360 MiB</total>', '<total>N/A</total>')
      .replace(
        /<enforced_power_limit>[^<]*<\/enforced_power_limit>/,
        '<enforced_power_limit>N/A</enforced_power_limit>',
      )
      .replace(/<power_limit>[^<]*<\/power_limit>/, '<power_limit>[Not Supported]</power_limit>');
    const inv = parseGpuInventoryXml(t4.replace('</gpu>', `</gpu>\n${second}`));
    expect(inv.gpus.map((g) => [g.index, g.uuid])).toEqual([
      [0, 'GPU-d37e67a5-91dd-3774-a5cb-99096249601a'],
      [1, 'GPU-00000000-0000-0000-0000-000000000001'],
    ]);
    expect(inv.gpus[1]).not.toHaveProperty('memoryTotalBytes');
    expect(inv.gpus[1]).not.toHaveProperty('powerLimitWatts');
  });

  it('no GPU element: an empty list', () => {
    expect(parseGpuInventoryXml(t4.replace(gpu, '')).gpus).toEqual([]);
  });

  it('a driver_version with a deprecation note (610), or only a kmd_version: the version alone', () => {
    // synthetic: 610.57.04 prints `Driver Version : 610.57.04 [Deprecated; …]` in its -q text
    // (test/fixtures/nvidia-smi-help/SOURCE.md); its XML is not recorded.
    const noted = t4.replace(
      '<driver_version>515.105.01</driver_version>',
      '<driver_version>610.57.04 [Deprecated; will be removed in CUDA 14.0. Use KMD Version instead]</driver_version>',
    );
    expect(parseGpuInventoryXml(noted).driverVersion).toBe('610.57.04');
    const kmd = t4.replace(
      '<driver_version>515.105.01</driver_version>',
      '<kmd_version>610.57.04</kmd_version>',
    );
    expect(parseGpuInventoryXml(kmd).driverVersion).toBe('610.57.04');
  });

  it('PCI ids: device in the high half, vendor in the low; zeroed halves tell nothing', () => {
    expect(pciIdOf('220410DE')).toBe('10de:2204');
    expect(pciIdOf('0x1EB810DE')).toBe('10de:1eb8');
    expect(pciIdOf('000000DE')).toBeUndefined();
    expect(pciIdOf('22040000')).toBeUndefined();
    expect(pciIdOf('N/A')).toBeUndefined();
    expect(pciIdOf(undefined)).toBeUndefined();
  });

  it('not nvidia-smi XML: throws', () => {
    expect(() => parseGpuInventoryXml('No devices were found')).toThrow(/nvidia_smi_log/);
    expect(() => parseGpuInventoryXml('<other><a>1</a></other>')).toThrow(/nvidia_smi_log/);
  });
});

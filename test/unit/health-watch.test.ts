// Recorded nvidia-smi -q -x outputs: test/fixtures/nvidia-smi/SOURCE.md. Faulty-GPU variants
// and kernel log lines written by hand from the documented formats: test/fixtures/nvidia-smi-health/README.md
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Logger } from '../../src/core/index.js';
import { parseGpuHealthXml, parseGpuQueryLine, type GpuHealthResult } from '../../src/metrics/gpu/index.js';
import { MachineHealth, parseXidLines, type KernelLogRead, type XidSource } from '../../src/metrics/index.js';
import { ROOT } from '../helpers/catalog.js';

const fixture = (dir: string, name: string) =>
  readFileSync(path.join(ROOT, 'test/fixtures', dir, name), 'utf8');
const T4 = 'GPU-d37e67a5-91dd-3774-a5cb-99096249601a';
const line = (mask: string) =>
  parseGpuQueryLine(`${T4}, 0, Tesla T4, 97, 40, 1032, 15360, 69.80, 71, 1185, ${mask}`, 0);
const CAPPED = '0x0000000000000004';
const CLEAR = '0x0000000000000000';

function logger() {
  const warnings: string[] = [];
  const l: Logger = { debug: () => {}, info: () => {}, warn: (m) => warnings.push(m), error: () => {} };
  return { l, warnings };
}

/** A kernel log whose reads answer what the test queued. */
class QueuedLog implements XidSource {
  reads = 0;
  constructor(private readonly answers: KernelLogRead[]) {}
  read(): KernelLogRead {
    this.reads++;
    return this.answers.shift() ?? { events: [] };
  }
  close(): void {}
}

const known = (name: string, dir = 'nvidia-smi'): GpuHealthResult => ({
  status: 'known',
  gpus: parseGpuHealthXml(fixture(dir, name)),
});

describe('MachineHealth', () => {
  it('counts only the samples taken between begin and end, for every span open', async () => {
    const health = new MachineHealth({ host: 'h', gpu: async () => known('tesla-t4.xml') });
    health.observe(line(CAPPED)); // before any repetition: nobody's
    const a = await health.begin();
    health.observe(line(CAPPED));
    const b = await health.begin(); // a second repetition on the same machine
    health.observe(line(CLEAR));
    const seenByA = await a.end();
    health.observe(line(CAPPED));
    const seenByB = await b.end();
    health.observe(line(CAPPED));
    expect(seenByA.throttle).toEqual([{ device: T4, samples: 2, reasons: { sw_power_cap: 1 } }]);
    expect(seenByB.throttle).toEqual([{ device: T4, samples: 2, reasons: { sw_power_cap: 1 } }]);
  });

  it('snapshots before and after; XIDs logged in between are the span’s, older ones are not', async () => {
    const gpus = [known('tesla-t4.xml'), known('tesla-t4-dbe-retired.xml', 'nvidia-smi-health')];
    const old = parseXidLines('NVRM: Xid (PCI:0000:00:1e): 48, pid=1, old');
    const fresh = parseXidLines(fixture('nvidia-smi-health', 'kmsg-xid.txt'));
    const health = new MachineHealth({
      host: 'h',
      gpu: async () => gpus.shift()!,
      xids: new QueuedLog([{ events: old }, { events: fresh }]),
    });
    const span = await health.begin();
    const o = await span.end();
    expect(o.before.gpus?.[0]?.retiredPages.doubleBit).toBe(0);
    expect(o.after.gpus?.[0]?.retiredPages.doubleBit).toBe(1);
    expect(o.xids?.map((x) => x.code)).toEqual([79, 79, 13]);
  });

  it('an unreadable kernel log is said once, and only where there are GPUs', async () => {
    const { l, warnings } = logger();
    const noGpu = new QueuedLog([{ unreadable: '/dev/kmsg: permission denied' }]);
    const cpuOnly = new MachineHealth({
      host: 'cpu-box',
      gpu: async () => ({ status: 'none', reason: 'nvidia-smi not found' }),
      xids: noGpu,
      logger: l,
    });
    await (await cpuOnly.begin()).end();
    expect(noGpu.reads).toBe(0);

    const log = new QueuedLog(
      Array.from({ length: 5 }, () => ({ unreadable: '/dev/kmsg: permission denied' })),
    );
    const gpuBox = new MachineHealth({
      host: 'gpu-box',
      gpu: async () => known('tesla-t4.xml'),
      xids: log,
      logger: l,
    });
    for (let i = 0; i < 3; i++) expect((await (await gpuBox.begin()).end()).xids).toBeUndefined();
    expect(warnings).toEqual([
      'XID errors not readable on gpu-box (/dev/kmsg: permission denied); not judged',
    ]);
    expect(log.reads).toBe(1);
  });

  it('no GPU: nvidia-smi is asked once; failing three times in a row: given up with a warning', async () => {
    let asked = 0;
    const none = new MachineHealth({
      host: 'h',
      gpu: async () => (asked++, { status: 'none', reason: 'No devices were found' }),
    });
    for (let i = 0; i < 3; i++) await (await none.begin()).end();
    expect(asked).toBe(1);

    const { l, warnings } = logger();
    let tries = 0;
    const broken = new MachineHealth({
      host: 'h',
      gpu: async () => (tries++, { status: 'unknown', reason: 'NVML: Unknown Error' }),
      logger: l,
    });
    for (let i = 0; i < 4; i++) await (await broken.begin()).end();
    expect(tries).toBe(3);
    expect(warnings).toEqual([expect.stringMatching(/failed 3 times in a row \(NVML: Unknown Error\)/)]);
  });

  it('repetitions beginning together share one snapshot; end is answered once', async () => {
    let asked = 0;
    const health = new MachineHealth({
      host: 'h',
      gpu: async () => (asked++, known('tesla-t4.xml')),
      cpu: async () => ({ package: 1 }),
    });
    const [a, b] = await Promise.all([health.begin(), health.begin()]);
    expect(asked).toBe(1);
    const first = a.end();
    expect(a.end()).toBe(first);
    expect((await first).before.cpu).toEqual({ package: 1 });
    await b.end();
  });
});

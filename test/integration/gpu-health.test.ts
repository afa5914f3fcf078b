// A machine's health watch against fake nvidia-smi executables (shell scripts: no GPU here)
// and a file standing in for /dev/kmsg. The nvidia-smi answers are recorded outputs of real
// GPUs (test/fixtures/nvidia-smi/SOURCE.md) and hand-written faulty variants of them; the
// kernel log lines are written from the documented format (test/fixtures/nvidia-smi-health/README.md).
import { appendFileSync, chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_HEALTH_POLICY, silentLogger, type Logger } from '../../src/core/index.js';
import { readGpuHealth } from '../../src/metrics/gpu/index.js';
import { judgeHealth, machineHealth } from '../../src/metrics/index.js';
import { FIXTURES } from '../helpers/catalog.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'benchyard-gpu-health-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const T4 = path.join(FIXTURES, 'nvidia-smi/tesla-t4.xml');
const T4_FAULTY = path.join(FIXTURES, 'nvidia-smi-health/tesla-t4-dbe-retired.xml');

let n = 0;
/** An executable fake nvidia-smi running `body` (`$D`: a scratch folder of its own). */
function fake(body: string): { command: string; scratch: string } {
  const scratch = path.join(dir, `s${++n}`);
  const command = path.join(dir, `nvidia-smi-${n}`);
  writeFileSync(command, `#!/bin/sh\nD='${scratch}'\nmkdir -p "$D"\necho "$*" >> "$D/calls"\n${body}\n`);
  chmodSync(command, 0o755);
  return { command, scratch };
}

/** A logger that keeps its warnings, for the tests to check. */
function warningLogger(): { logger: Logger; warnings: string[] } {
  const warnings: string[] = [];
  return { logger: { ...silentLogger, warn: (m) => void warnings.push(m) }, warnings };
}

describe('readGpuHealth', () => {
  it('runs nvidia-smi -q -x and reads the counters', async () => {
    const { command } = fake(`[ "$*" = '-q -x' ] && cat '${T4}'`);
    const r = await readGpuHealth(command);
    expect(r).toMatchObject({ status: 'known', gpus: [{ index: 0, retiredPages: { doubleBit: 0 } }] });
  });

  it('no nvidia-smi, or no device: none; an NVML failure: unknown; a hang: unknown, killed', async () => {
    expect(await readGpuHealth(path.join(dir, 'missing'))).toEqual({
      status: 'none',
      reason: `${path.join(dir, 'missing')} not found`,
    });
    const noDevice = fake('echo "No devices were found"; exit 6');
    expect(await readGpuHealth(noDevice.command)).toEqual({
      status: 'none',
      reason: 'No devices were found',
    });
    const nvml = fake(
      'echo "Unable to determine the device handle for GPU0000:00:1E.0: Unknown Error" >&2; exit 15',
    );
    expect(await readGpuHealth(nvml.command)).toMatchObject({ status: 'unknown' });
    const hang = fake('exec sleep 30');
    expect(await readGpuHealth(hang.command, 300)).toEqual({
      status: 'unknown',
      reason: 'nvidia-smi -q -x took over 300 ms',
    });
  });
});

describe('machineHealth: one repetition on a GPU that retired a page and fell off the bus', () => {
  it('the snapshots, the kernel log between them and the judgement', async () => {
    // First call: the healthy T4; every later one: the T4 after a double-bit error.
    const { command } = fake(
      `if [ -e "$D/asked" ]; then cat '${T4_FAULTY}'; else touch "$D/asked"; cat '${T4}'; fi`,
    );
    const kmsg = path.join(dir, 'kmsg');
    writeFileSync(kmsg, '4,1,100,-;NVRM: Xid (PCI:0000:00:1e): 48, pid=1, before this run\n');
    const { logger, warnings } = warningLogger();
    const health = machineHealth({ host: 'gpu-box', gpu: true, command, kmsg, fsRoot: dir, logger });
    try {
      const span = await health.begin();
      appendFileSync(kmsg, '4,2,200,-;NVRM: Xid (PCI:0000:00:1e): 79, pid=2, GPU has fallen off the bus.\n');
      const o = await span.end();
      expect(judgeHealth(o, DEFAULT_HEALTH_POLICY)).toEqual([
        'GPU 0: 1 new retired page (double-bit ECC)',
        'GPU 0: page retirement pending (applied at the next GPU reset)',
        'GPU 0: 2 new uncorrectable ECC errors',
        'GPU 0: 1 new XID 79 error',
      ]);
      expect(warnings).toEqual([]);
    } finally {
      health.close();
    }
  });

  it('a kernel log it may not read: said once, the rest still judged', async () => {
    const { command } = fake(`cat '${T4}'`);
    const { logger, warnings } = warningLogger();
    const health = machineHealth({
      host: 'gpu-box',
      gpu: true,
      command,
      kmsg: path.join(dir, 'no-kmsg'),
      logger,
    });
    for (let i = 0; i < 3; i++)
      expect(judgeHealth(await (await health.begin()).end(), DEFAULT_HEALTH_POLICY)).toEqual([]);
    expect(warnings).toEqual([
      `XID errors not readable on gpu-box (${path.join(dir, 'no-kmsg')}: ENOENT); not judged`,
    ]);
    health.close();
  });
});

// The nvidia-smi source against fake nvidia-smi executables (shell scripts): no GPU here.
// The data lines are derived from recorded outputs of real GPUs (test/fixtures/nvidia-smi/SOURCE.md),
// see test/fixtures/nvidia-smi-csv/README.md; `--help-query-gpu` is answered with a recorded
// driver's help (test/fixtures/nvidia-smi-help/SOURCE.md).
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Logger } from '../../src/core/index.js';
import {
  GPU_QUERY_FIELDS,
  inventory,
  NvidiaSmiSource,
  readHelpQueryGpu,
} from '../../src/metrics/gpu/index.js';
import type { Reading } from '../../src/metrics/reading.js';
import { FIXTURES, ROOT } from '../helpers/catalog.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'benchyard-gpu-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const csv = (name: string) => readFileSync(path.join(FIXTURES, 'nvidia-smi-csv', name), 'utf8');
const LINES = ['tesla-t4.csv', 'a10g.csv', 'a100-sxm4.csv', 'rtx-3080.csv'].map(csv).join('');
const T4_LINE = csv('tesla-t4.csv').trim();
const T4 = 'GPU-d37e67a5-91dd-3774-a5cb-99096249601a';

const HELP = path.join(FIXTURES, 'nvidia-smi-help');
/** Driver 465's help: it documents exactly `GPU_QUERY_FIELDS`, the mask by its old name. */
const HELP_465 = path.join(HELP, '465.27-linux-geforce-rtx-2080-super.txt');
const HELP_590 = path.join(HELP, '590.48.01-linux-h200.txt');

let n = 0;
/**
 * Writes an executable fake nvidia-smi; `$D` in the body is a private scratch folder.
 * `--help-query-gpu` prints `help` (a recorded file; by default driver 465's) and is logged to
 * `$D/help`, apart from the other calls; `help: 'body'` leaves it to the body.
 */
function fake(body: string, help: string = HELP_465): { command: string; scratch: string } {
  const scratch = path.join(dir, `s${++n}`);
  const command = path.join(dir, `nvidia-smi-${n}`);
  const answerHelp =
    help === 'body'
      ? ''
      : `if [ "$1" = --help-query-gpu ]; then echo x >> "$D/help"; cat '${help}'; exit 0; fi\n`;
  writeFileSync(
    command,
    `#!/bin/sh\nD='${scratch}'\nmkdir -p "$D"\n${answerHelp}echo "$*" >> "$D/calls"\n${body}\n`,
  );
  chmodSync(command, 0o755);
  return { command, scratch };
}
const lines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n') : []);
const calls = (scratch: string) => lines(path.join(scratch, 'calls'));
const helpCalls = (scratch: string) => lines(path.join(scratch, 'help')).length;

/** Shell `printf` commands writing `text` in pieces of the given sizes, with a pause between. */
function inChunks(text: string, sizes: number[]): string {
  const out: string[] = [];
  for (let i = 0, k = 0; i < text.length; k++) {
    const piece = text.slice(i, i + sizes[k % sizes.length]!);
    i += piece.length;
    out.push(`printf '%b' '${piece.replace(/\n/g, '\\n')}'`, 'sleep 0.02');
  }
  return out.join('\n');
}

interface Logged {
  level: keyof Logger;
  message: string;
}
/** Records what a user would see: info and above (debug lines, e.g. about the help, are not kept). */
function recordingLogger(): Logger & { lines: Logged[] } {
  const lines: Logged[] = [];
  const at = (level: keyof Logger) => (message: string) => void lines.push({ level, message });
  return { lines, debug: () => undefined, info: at('info'), warn: at('warn'), error: at('error') };
}

async function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const sources: NvidiaSmiSource[] = [];
function source(opts: ConstructorParameters<typeof NvidiaSmiSource>[0]): NvidiaSmiSource {
  const s = new NvidiaSmiSource(opts);
  sources.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(sources.splice(0).map((s) => s.stop()));
});

describe('NvidiaSmiSource', () => {
  it('parses a stream whose lines arrive in odd chunk boundaries, stamped with the receive time', async () => {
    const { command, scratch } = fake(`${inChunks(LINES + LINES, [7, 1, 53, 120, 3])}\nexec sleep 30`);
    const batches: (readonly Reading[])[] = [];
    const s = source({ intervalMs: 250, command, clock: () => 42 });
    s.start((r) => batches.push(r));
    await until(() => batches.length === 8);

    expect(calls(scratch)).toEqual([
      `--query-gpu=${GPU_QUERY_FIELDS.join(',')} --format=csv,noheader,nounits -lms 250`,
    ]);
    // one batch per line, one device per batch, in the order printed
    const devices = batches.map((b) => [...new Set(b.map((r) => r.device))]);
    expect(devices.slice(0, 4)).toEqual([
      [T4],
      ['GPU-9a9a6c50-2a47-2f51-a902-b82c3b127e94'],
      ['GPU-513536b6-7d19-9063-b049-1e69664bb298'],
      ['GPU-19d6d965-2acc-f646-00f8-4c76979aabb4'],
    ]);
    expect(devices.slice(4)).toEqual(devices.slice(0, 4));
    const temps = batches.map((b) => b.find((r) => r.name === 'gpu.temperature.celsius')?.value);
    expect(temps).toEqual([40, 17, 27, 27, 40, 17, 27, 27]);
    expect(batches.flat().every((r) => r.timestamp === 42 && r.scope === 'gpu')).toBe(true);
  });

  it('a missing binary: no readings, no error, one info line', async () => {
    const logger = recordingLogger();
    const got: Reading[] = [];
    const s = source({ intervalMs: 100, command: path.join(dir, 'no-such-nvidia-smi'), logger });
    expect(() => s.start((r) => got.push(...r))).not.toThrow();
    await until(() => logger.lines.length > 0);
    await new Promise((r) => setTimeout(r, 100));
    await expect(s.stop()).resolves.toBeUndefined();
    expect(got).toEqual([]);
    expect(logger.lines).toEqual([{ level: 'info', message: 'nvidia-smi not found: no GPU metrics' }]);
  });

  it.each([
    ['No devices were found', 6],
    ["NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.", 9],
    ['Failed to initialize NVML: Driver/library version mismatch', 18],
  ])('no usable GPU (%j): no readings, one info line, no restart', async (message, code) => {
    const { command, scratch } = fake(`echo '${message.replace(/'/g, `'\\''`)}'\nexit ${code}`);
    const logger = recordingLogger();
    const got: Reading[] = [];
    const s = source({ intervalMs: 100, command, logger, restartDelayMs: 10 });
    s.start((r) => got.push(...r));
    await until(() => logger.lines.length > 0);
    await new Promise((r) => setTimeout(r, 200));
    await s.stop();
    expect(got).toEqual([]);
    expect(logger.lines).toEqual([{ level: 'info', message: 'no usable NVIDIA GPU: no GPU metrics' }]);
    expect(calls(scratch)).toHaveLength(1);
  });

  it('a field the driver rejects is dropped and the query restarted without it', async () => {
    const noThrottle = T4_LINE.replace(/, 0x[0-9a-f]+$/, '');
    const { command, scratch } = fake(
      [
        'case "$1" in *clocks_throttle_reasons.active*)',
        `  echo 'Field "clocks_throttle_reasons.active" is not a valid field to query.'; exit 2;;`,
        'esac',
        `echo '${noThrottle}'`,
        'exec sleep 30',
      ].join('\n'),
    );
    const logger = recordingLogger();
    const got: Reading[] = [];
    const s = source({ intervalMs: 100, command, logger });
    s.start((r) => got.push(...r));
    await until(() => got.length > 0);

    const [first, second] = calls(scratch);
    expect(first).toContain('clocks_throttle_reasons.active');
    expect(second).toBeDefined();
    expect(second).not.toContain('clocks_throttle_reasons.active');
    expect(second).toContain('--query-gpu=uuid,index,name,');
    expect(s.queriedFields).not.toContain('clocks_throttle_reasons.active');
    expect(got.find((r) => r.name === 'gpu.clock.sm.mhz')?.value).toBe(585);
    expect(got.some((r) => r.name.startsWith('gpu.throttle.'))).toBe(false);
    expect(logger.lines).toContainEqual({
      level: 'info',
      message: 'nvidia-smi does not know the field clocks_throttle_reasons.active; querying without it',
    });
  });

  it('a rejected uuid field (required) gives up after one try', async () => {
    const { command, scratch } = fake(`echo 'Field "uuid" is not a valid field to query.'\nexit 2`);
    const logger = recordingLogger();
    const s = source({ intervalMs: 100, command, logger });
    s.start(() => undefined);
    await until(() => logger.lines.some((l) => l.level === 'warn'));
    await new Promise((r) => setTimeout(r, 100));
    expect(calls(scratch)).toHaveLength(1);
  });

  it('a process that dies after producing data is restarted with a backoff', async () => {
    const { command, scratch } = fake(
      [`echo '${T4_LINE}'`, 'if [ "$(wc -l < "$D/calls")" -lt 2 ]; then exit 1; fi', 'exec sleep 30'].join(
        '\n',
      ),
    );
    const logger = recordingLogger();
    const batches: (readonly Reading[])[] = [];
    const s = source({ intervalMs: 100, command, logger, restartDelayMs: 50 });
    s.start((r) => batches.push(r));
    await until(() => batches.length === 2);
    expect(calls(scratch)).toHaveLength(2);
    expect(logger.lines).toContainEqual({
      level: 'warn',
      message: 'nvidia-smi exited unexpectedly; restarting in 50 ms',
    });
    expect(s.pid).toBeDefined();
  });

  it('restarts are bounded', async () => {
    const { command, scratch } = fake('echo "something broke"\nexit 1');
    const logger = recordingLogger();
    const s = source({ intervalMs: 100, command, logger, restartDelayMs: 10, maxRestarts: 2 });
    s.start(() => undefined);
    await until(() => logger.lines.some((l) => l.message.includes('giving up')));
    await new Promise((r) => setTimeout(r, 200));
    expect(calls(scratch)).toHaveLength(3);
    expect(logger.lines.map((l) => l.message)).toEqual([
      'nvidia-smi exited unexpectedly; restarting in 10 ms',
      'nvidia-smi exited unexpectedly; restarting in 20 ms',
      'nvidia-smi exited 3 times in a row; giving up on GPU metrics',
    ]);
  });

  it('stop() terminates the child with SIGTERM, and nothing is emitted after it resolves', async () => {
    const { command } = fake(`while :; do echo '${T4_LINE}'; sleep 0.02; done`);
    let batches = 0;
    const s = source({ intervalMs: 20, command });
    s.start(() => void batches++);
    await until(() => batches >= 3);
    const pid = s.pid!;
    expect(isAlive(pid)).toBe(true);
    const t0 = Date.now();
    await s.stop();
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(isAlive(pid)).toBe(false);
    const atStop = batches;
    await new Promise((r) => setTimeout(r, 200));
    expect(batches).toBe(atStop);
  });

  it('pause() ends nvidia-smi for a control repetition; resume() starts a new one that emits again', async () => {
    const { command, scratch } = fake(`while :; do echo '${T4_LINE}'; sleep 0.02; done`);
    let batches = 0;
    const s = source({ intervalMs: 20, command });
    s.start(() => void batches++);
    await until(() => batches >= 2);
    const first = s.pid!;
    await s.pause();
    expect(isAlive(first)).toBe(false);
    expect(s.pid).toBeUndefined();
    const atPause = batches;
    await new Promise((r) => setTimeout(r, 200));
    expect(batches).toBe(atPause); // nothing runs, nothing is emitted while paused
    s.resume();
    await until(() => batches >= atPause + 2);
    expect(s.pid).not.toBe(first);
    expect(calls(scratch)).toHaveLength(2);
    expect(helpCalls(scratch)).toBe(1); // the fields were chosen once
  });

  it('stop() sends SIGKILL after 2 s to a child that ignores SIGTERM, and leaves no orphan', async () => {
    const { command, scratch } = fake(
      `trap '' TERM\necho $$ > "$D/pid"\nwhile :; do echo '${T4_LINE}'; sleep 0.05; done`,
    );
    let batches = 0;
    const s = source({ intervalMs: 50, command });
    s.start(() => void batches++);
    await until(() => batches >= 2);
    const pid = s.pid!;
    expect(Number(readFileSync(path.join(scratch, 'pid'), 'utf8'))).toBe(pid);
    const t0 = Date.now();
    await s.stop();
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(1900);
    expect(took).toBeLessThan(4000);
    expect(isAlive(pid)).toBe(false);
    // its whole process group goes too (the script's `sleep` children were killed with it;
    // how soon they vanish depends on how fast this machine's init reaps orphans)
    await until(() => !isAlive(-pid), 5000);
    expect(() => process.kill(-pid, 0)).toThrow();
  });

  it('stop() before start, twice, and during a restart delay resolves', async () => {
    const idle = source({ intervalMs: 100, command: path.join(dir, 'unused') });
    await expect(idle.stop()).resolves.toBeUndefined();
    await expect(idle.stop()).resolves.toBeUndefined();

    const { command, scratch } = fake('exit 1');
    const logger = recordingLogger();
    const s = source({ intervalMs: 100, command, logger, restartDelayMs: 300 });
    s.start(() => undefined);
    await until(() => logger.lines.length > 0);
    await s.stop();
    await new Promise((r) => setTimeout(r, 500));
    expect(calls(scratch)).toHaveLength(1);
  });
});

describe("the fields asked for follow the driver's --help-query-gpu", () => {
  it('driver 590: the clock-reason mask by its 535 name, read like the old one; the help asked once', async () => {
    const { command, scratch } = fake(`echo '${T4_LINE}'\nexec sleep 30`, HELP_590);
    const got: Reading[] = [];
    const s = source({ intervalMs: 100, command });
    s.start((r) => got.push(...r));
    await until(() => got.length > 0);
    expect(helpCalls(scratch)).toBe(1);
    const wanted = GPU_QUERY_FIELDS.map((f) =>
      f === 'clocks_throttle_reasons.active' ? 'clocks_event_reasons.active' : f,
    );
    expect(calls(scratch)).toEqual([
      `--query-gpu=${wanted.join(',')} --format=csv,noheader,nounits -lms 100`,
    ]);
    expect(got.find((r) => r.name === 'gpu.throttle.active')?.value).toBe(0);
  });

  it('a driver that does not document a field is not asked for it, and says so', async () => {
    const partial = path.join(dir, 'help-without-clocks-sm.txt');
    writeFileSync(partial, readFileSync(HELP_465, 'utf8').replace('"clocks.current.sm" or "clocks.sm"', ''));
    const { command, scratch } = fake('exec sleep 30', partial);
    const logger = recordingLogger();
    const s = source({ intervalMs: 100, command, logger });
    s.start(() => undefined);
    await until(() => calls(scratch).length > 0);
    expect(calls(scratch)[0]).not.toContain('clocks.sm');
    expect(s.queriedFields).toEqual(GPU_QUERY_FIELDS.filter((f) => f !== 'clocks.sm'));
    expect(logger.lines).toContainEqual({
      level: 'info',
      message: 'nvidia-smi does not document clocks.sm; querying without them',
    });
  });

  it('a help that cannot be read: the fields every recorded driver documents', async () => {
    const { command, scratch } = fake(
      'if [ "$1" = --help-query-gpu ]; then echo "Unknown option"; exit 1; fi\nexec sleep 30',
      'body',
    );
    const s = source({ intervalMs: 100, command });
    s.start(() => undefined);
    await until(() => calls(scratch).length > 1);
    expect(calls(scratch)[0]).toBe('--help-query-gpu');
    expect(calls(scratch)[1]).toContain(`--query-gpu=${GPU_QUERY_FIELDS.join(',')} `);
  });

  it('the 535 name rejected after all: the older name is asked instead', async () => {
    const { command, scratch } = fake(
      [
        'case "$1" in *clocks_event_reasons.active*)',
        `  echo 'Field "clocks_event_reasons.active" is not a valid field to query.'; exit 2;;`,
        'esac',
        `echo '${T4_LINE}'`,
        'exec sleep 30',
      ].join('\n'),
      HELP_590,
    );
    const logger = recordingLogger();
    const got: Reading[] = [];
    const s = source({ intervalMs: 100, command, logger });
    s.start((r) => got.push(...r));
    await until(() => got.length > 0);
    expect(calls(scratch)[1]).toContain(',clocks_throttle_reasons.active ');
    expect(got.some((r) => r.name === 'gpu.throttle.active')).toBe(true);
    expect(logger.lines).toContainEqual({
      level: 'info',
      message:
        'nvidia-smi does not know the field clocks_event_reasons.active; querying clocks_throttle_reasons.active instead',
    });
  });

  it('readHelpQueryGpu: the text counts, not the exit status; a missing binary or a hang is undefined', async () => {
    const { command } = fake('', 'body');
    writeFileSync(command, `#!/bin/sh\ncat '${HELP_465}'\nexit 3\n`);
    expect((await readHelpQueryGpu(command))?.has('clocks_throttle_reasons.active')).toBe(true);
    await expect(readHelpQueryGpu(path.join(dir, 'no-such-nvidia-smi'))).resolves.toBeUndefined();
    const hang = fake('', 'body').command;
    writeFileSync(hang, `#!/bin/sh\nhead -c 2000 '${HELP_465}'\nexec sleep 30\n`);
    await expect(readHelpQueryGpu(hang, 300)).resolves.toBeUndefined();
  });
});

describe('inventory()', () => {
  it('runs nvidia-smi -q -x once and parses it', async () => {
    const xml = path.join(ROOT, 'test/fixtures/nvidia-smi/tesla-t4.xml');
    const { command, scratch } = fake(`cat '${xml}'`);
    const got = await inventory(command);
    expect(calls(scratch)).toEqual(['-q -x']);
    if (got.status !== 'known') throw new Error(`expected known, got ${got.status}`);
    expect(got.inventory.driverVersion).toBe('515.105.01');
    expect(got.inventory.gpus.map((g) => [g.uuid, g.name, g.pciDeviceId])).toEqual([
      [T4, 'Tesla T4', '10de:1eb8'],
    ]);
  });

  it('none when nvidia-smi is absent or says there is no usable GPU', async () => {
    await expect(inventory(path.join(dir, 'no-such-nvidia-smi'))).resolves.toMatchObject({ status: 'none' });
    const { command } = fake('echo "No devices were found"\nexit 6');
    await expect(inventory(command)).resolves.toEqual({ status: 'none', reason: 'No devices were found' });
  });

  it('unknown, never none, when its output cannot be read or it does not finish', async () => {
    const xml = readFileSync(path.join(ROOT, 'test/fixtures/nvidia-smi/tesla-t4.xml'), 'utf8');
    const cut = path.join(dir, 'cut.xml');
    writeFileSync(cut, xml.slice(0, 300));
    const logger = recordingLogger();
    const truncated = await inventory(fake(`cat '${cut}'`).command, logger);
    expect(truncated).toMatchObject({
      status: 'unknown',
      reason: expect.stringMatching(/^could not read nvidia-smi -q -x output/),
    });
    expect(logger.lines).toEqual([
      { level: 'warn', message: `GPUs unknown: ${(truncated as { reason: string }).reason}` },
    ]);
    await expect(inventory(fake('echo "Segmentation fault"\nexit 139').command)).resolves.toMatchObject({
      status: 'unknown',
    });
    await expect(inventory(fake('exec sleep 30').command, undefined, 300)).resolves.toEqual({
      status: 'unknown',
      reason: 'nvidia-smi -q -x did not finish within 300 ms',
    });
  });
});

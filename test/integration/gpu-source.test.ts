// The nvidia-smi source against fake nvidia-smi executables (shell scripts): no GPU here.
// The data lines are derived from recorded outputs of real GPUs (test/fixtures/nvidia-smi/SOURCE.md),
// see test/fixtures/nvidia-smi-csv/README.md.
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Logger } from '../../src/core/index.js';
import { GPU_QUERY_FIELDS, inventory, NvidiaSmiSource } from '../../src/metrics/gpu/index.js';
import type { Reading } from '../../src/metrics/reading.js';
import { FIXTURES, ROOT } from '../helpers/catalog.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'benchyard-gpu-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const csv = (name: string) => readFileSync(path.join(FIXTURES, 'nvidia-smi-csv', name), 'utf8');
const LINES = ['tesla-t4.csv', 'a10g.csv', 'a100-sxm4.csv', 'rtx-3080.csv'].map(csv).join('');
const T4_LINE = csv('tesla-t4.csv').trim();
const T4 = 'GPU-d37e67a5-91dd-3774-a5cb-99096249601a';

let n = 0;
/** Writes an executable fake nvidia-smi; `$D` in the body is a private scratch folder. */
function fake(body: string): { command: string; scratch: string } {
  const scratch = path.join(dir, `s${++n}`);
  const command = path.join(dir, `nvidia-smi-${n}`);
  writeFileSync(command, `#!/bin/sh\nD='${scratch}'\nmkdir -p "$D"\necho "$*" >> "$D/calls"\n${body}\n`);
  chmodSync(command, 0o755);
  return { command, scratch };
}
const calls = (scratch: string) =>
  existsSync(path.join(scratch, 'calls'))
    ? readFileSync(path.join(scratch, 'calls'), 'utf8').trim().split('\n')
    : [];

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
function recordingLogger(): Logger & { lines: Logged[] } {
  const lines: Logged[] = [];
  const at = (level: keyof Logger) => (message: string) => void lines.push({ level, message });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
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

describe('inventory()', () => {
  it('runs nvidia-smi -q -x once and parses it', async () => {
    const xml = path.join(ROOT, 'test/fixtures/nvidia-smi/tesla-t4.xml');
    const { command, scratch } = fake(`cat '${xml}'`);
    const inv = await inventory(command);
    expect(calls(scratch)).toEqual(['-q -x']);
    expect(inv?.driverVersion).toBe('515.105.01');
    expect(inv?.gpus.map((g) => [g.uuid, g.name])).toEqual([[T4, 'Tesla T4']]);
  });

  it('undefined when nvidia-smi is absent or finds no GPU', async () => {
    await expect(inventory(path.join(dir, 'no-such-nvidia-smi'))).resolves.toBeUndefined();
    const { command } = fake('echo "No devices were found"\nexit 6');
    await expect(inventory(command)).resolves.toBeUndefined();
  });
});

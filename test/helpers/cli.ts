import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './catalog.js';

export const BIN = path.join(ROOT, 'bin/benchyard.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI as a user would (`npm run build` first; `scripts/test` does). */
export function cli(
  args: string[],
  opts: { cwd?: string; env?: Record<string, string> } = {},
): Promise<CliResult> {
  if (!existsSync(path.join(ROOT, 'dist/src/cli/main.js')))
    throw new Error('dist/ is missing: run `npm run build` first');
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: opts.cwd ?? ROOT, env: { ...process.env, CI: 'true', ...opts.env }, timeout: 120_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

export interface BackgroundCli {
  child: ChildProcess;
  /** The exit code, or -1 when a signal ended it. */
  exited: Promise<number | null>;
  out(): { stdout: string; stderr: string };
}

/** Starts the built CLI in the background (a run to interrupt, cut off or change under it). */
export function startCli(args: string[], cwd: string, env: Record<string, string> = {}): BackgroundCli {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, CI: 'true', ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code, sig) => resolve(code ?? (sig ? -1 : null))),
  );
  return { child, exited, out: () => ({ stdout, stderr }) };
}

/**
 * Polls `probe` until it answers something other than `undefined`, `null` or `false` (a
 * boolean condition waits until it holds; `false` never ends the wait).
 */
export async function until<T>(
  probe: () => Promise<T | undefined | null | false>,
  timeoutMs: number,
  what = 'a condition',
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== null && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * Where Slurm's commands run: the login node, over benchyard's SSH connection, or this
 * machine when benchyard runs on a login node (`login: { local: true }`).
 */
import { execFile } from 'node:child_process';
import type { SshSession } from '../../src/core/index.js';
import { CommandNotSent, type SlurmShell } from './commands.js';

/** Answers above this are cut (a partition of thousands of nodes stays far below). */
const MAX_OUTPUT = 16 * 1024 * 1024;

/** One POSIX shell word: single quotes, with `'` written as `'\''`. */
export function shellWord(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * Commands over SSH. `session()` answers the live connection: a login connection that
 * dropped during a long run is opened again for the next command (the holder jobs do not
 * depend on it: they are Slurm's).
 */
export function sshShell(where: string, session: () => Promise<SshSession>): SlurmShell {
  const send = async (command: string, signal?: AbortSignal) => {
    let s: SshSession;
    try {
      s = await session();
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new CommandNotSent(`${where}: ${(err as Error).message}`, { cause: err });
    }
    try {
      return await s.exec(command, signal);
    } catch (err) {
      // exec rejects before the command starts (no channel, connection gone) or on abort;
      // a connection lost while it runs resolves with code -1 instead: that one may have run.
      if (signal?.aborted) throw err;
      throw new CommandNotSent(`${where}: ${(err as Error).message}`, { cause: err });
    }
  };
  return {
    where,
    run: (argv, signal) => send(argv.map(shellWord).join(' '), signal),
    script: (text, signal) => send(`sh -c ${shellWord(text)}`, signal),
  };
}

export function localShell(): SlurmShell {
  const spawn = (file: string, args: readonly string[], signal?: AbortSignal) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
      execFile(
        file,
        args,
        { maxBuffer: MAX_OUTPUT, encoding: 'utf8', ...(signal ? { signal } : {}) },
        (err, stdout, stderr) => {
          if (err && (err as NodeJS.ErrnoException).code === 'ENOENT')
            return reject(
              new CommandNotSent(`${file}: not found on this machine (is Slurm's client installed?)`),
            );
          if (err && signal?.aborted) return reject(signal.reason);
          const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
          resolve({ code, stdout, stderr });
        },
      );
    });
  return {
    where: 'this machine',
    run: (argv, signal) => spawn(argv[0]!, argv.slice(1), signal),
    script: (text, signal) => spawn('sh', ['-c', text], signal),
  };
}

/**
 * One owner per spool directory: a `lock` file holding the owner's pid, created with
 * O_EXCL; a lock whose pid is dead (or is our own pid from an earlier incarnation) is
 * taken over, a live one makes opening fail with a clear error.
 */
import { open, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { InfrastructureError, errorMessage, type Logger } from '../core/index.js';
import { codeOf } from './spool-frame.js';

const LOCK = 'lock';
/** An unreadable lock file younger than this may be a lock being written right now. */
const LOCK_GRACE_MS = 5000;
// ---------------------------------------------------------------------------------------------
// Lock

/** Lock files this process holds: a lock naming our pid but not listed here is a previous
 * incarnation's (containers restart with the same small pids). */
const heldLocks = new Set<string>();

function pidAlive(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return codeOf(err) === 'EPERM';
  }
}

export async function acquireLock(dir: string, logger: Logger): Promise<string> {
  const file = path.join(dir, LOCK);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(file, 'wx');
      try {
        await fh.writeFile(`${process.pid}\n`);
      } finally {
        await fh.close();
      }
      heldLocks.add(file);
      return file;
    } catch (err) {
      if (codeOf(err) !== 'EEXIST')
        throw new InfrastructureError(
          `spool directory ${dir} is unusable: ${errorMessage(err)}`,
          { dir },
          { cause: err },
        );
    }
    let text: string;
    let mtimeMs: number;
    try {
      [text, { mtimeMs }] = await Promise.all([readFile(file, 'utf8'), stat(file)]);
    } catch (err) {
      if (codeOf(err) === 'ENOENT') continue; // released meanwhile
      throw new InfrastructureError(
        `cannot read spool lock ${file}: ${errorMessage(err)}`,
        { dir },
        { cause: err },
      );
    }
    const pid = /^\d+$/.test(text.trim()) ? Number(text.trim()) : undefined;
    if (pid === undefined && Date.now() - mtimeMs < LOCK_GRACE_MS)
      throw new InfrastructureError(`spool ${dir} is being opened by another process (lock ${file} is new)`, {
        dir,
      });
    if (pid !== undefined && (heldLocks.has(file) || pidAlive(pid))) {
      const who = pid === process.pid ? 'this process' : `process ${pid}`;
      throw new InfrastructureError(
        `spool ${dir} is in use by ${who}; if no benchyard runs on it, remove ${file}`,
        { dir, pid },
      );
    }
    logger.warn('spool: taking over a stale lock', { dir, pid: pid ?? null });
    await rm(file, { force: true });
  }
  throw new InfrastructureError(`could not take the spool lock ${file}`, { dir });
}

export async function releaseLock(file: string): Promise<void> {
  heldLocks.delete(file);
  try {
    if ((await readFile(file, 'utf8')).trim() === String(process.pid)) await rm(file, { force: true });
  } catch {
    // Gone already, or not ours: nothing to release.
  }
}

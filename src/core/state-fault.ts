/**
 * A failure of the state folder under benchyard (its disk full, read-only, locked by
 * another process, failing) as the user must read it: which file, what is wrong with it,
 * in words, not an SQLite or errno code alone. The embedded store, the ledger, the pools
 * and the artifact folder all say it the same way; it is an InfrastructureError (exit 3),
 * never a benchmark's failure.
 */
import { accessSync, constants, existsSync } from 'node:fs';
import path from 'node:path';
import { InfrastructureError } from './errors.js';

/** How long SQLite waits for another process's lock on the state file before giving up. */
export const STATE_BUSY_TIMEOUT_MS = 5000;

/** `<doing> <file> failed: <why> (<code>)`, e.g. `storing metric samples in /s/benchyard.db failed: the disk is full (SQLITE_FULL)`. */
export function stateFault(doing: string, file: string, err: unknown): InfrastructureError {
  const code = codeOf(err);
  return new InfrastructureError(
    `${doing} ${file} failed: ${reasonFor(code, file, err)}${code ? ` (${code})` : ''}`,
    { file, ...(code ? { code } : {}) },
    { cause: err },
  );
}

/** A disk with no room left (SQLite's or the file system's word for it). */
export function isDiskFull(err: unknown): boolean {
  const code = codeOf(err);
  return code === 'SQLITE_FULL' || code === 'ENOSPC' || code === 'EDQUOT';
}

/**
 * The errors of the file system under a file, as opposed to a mistake in how it was
 * used (a bad name, a file that exists): what makes an artifact write a state fault.
 */
export function isFileSystemFault(err: unknown): boolean {
  return ['ENOSPC', 'EDQUOT', 'EROFS', 'EIO', 'EACCES', 'EPERM', 'EMFILE', 'ENFILE'].includes(codeOf(err));
}

function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : '';
}

function reasonFor(code: string, file: string, err: unknown): string {
  if (code === 'SQLITE_FULL' || code === 'ENOSPC') return 'the disk is full';
  if (code === 'EDQUOT') return 'the disk quota is used up';
  if (code.startsWith('SQLITE_READONLY') || code === 'EROFS')
    return `it cannot be written: ${folderProblem(file) ?? 'the file is read-only'}`;
  if (code === 'EACCES' || code === 'EPERM' || code === 'SQLITE_PERM' || code === 'SQLITE_AUTH')
    return 'permission denied';
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'))
    return `another process held it locked for more than ${STATE_BUSY_TIMEOUT_MS / 1000} s`;
  if (code.startsWith('SQLITE_IOERR') || code === 'EIO')
    return 'an I/O error: the disk or its file system is failing';
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB')
    return 'the file is damaged or is not a benchyard store';
  if (code === 'ENOENT') return folderProblem(file) ?? 'its folder does not exist';
  if (code.startsWith('SQLITE_CANTOPEN')) {
    const problem = folderProblem(file);
    return problem ? `it cannot be opened: ${problem}` : 'it cannot be opened';
  }
  return err instanceof Error ? err.message : String(err);
}

/**
 * Why the file's folder cannot take a write, where the file system says (SQLite reports
 * EROFS, EACCES and a missing folder alike as "unable to open database file"): the
 * nearest folder that exists is asked.
 */
function folderProblem(file: string): string | undefined {
  const dir = path.dirname(file);
  let at = dir;
  while (!existsSync(at) && path.dirname(at) !== at) at = path.dirname(at);
  try {
    accessSync(at, constants.W_OK);
    return at === dir ? undefined : `${dir} does not exist`;
  } catch (err) {
    const code = codeOf(err);
    if (code === 'EROFS') return `${at} is on a read-only file system`;
    if (code === 'EACCES' || code === 'EPERM') return `no permission to write ${at}`;
    return undefined;
  }
}

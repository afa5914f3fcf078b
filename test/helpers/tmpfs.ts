/**
 * A small tmpfs to stand for a state folder's disk: full at a few MiB, remountable
 * read-only. Needs root (the test machines run the suite as root).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Tmpfs {
  dir: string;
  /** Makes the file system read-only (`rw: true`: writable again). Fails while a file is open for writing. */
  remount(opts: { rw: boolean }): void;
  /** Unmounts (lazily, should a test leave a file open) and removes the mount point. */
  unmount(): void;
}

export function mountTmpfs(size = '2m', prefix = 'by-tmpfs-'): Tmpfs {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir]);
  return {
    dir,
    remount: ({ rw }) => execFileSync('mount', ['-o', `remount,${rw ? 'rw' : 'ro'}`, dir]),
    unmount: () => {
      try {
        execFileSync('umount', [dir], { stdio: 'ignore' });
      } catch {
        execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Fills the file system under `dir` with `file` until no byte is left. */
export function fillDisk(file: string): void {
  try {
    execFileSync('dd', ['if=/dev/zero', `of=${file}`, 'bs=4k'], { stdio: 'ignore' });
  } catch {
    // dd stops with ENOSPC: the disk is full, which is the point
  }
}

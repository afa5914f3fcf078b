/**
 * Room kept on the state folder's disk for the end of a run. When that disk fills (the
 * run's own samples, its artifacts, or anything else on the disk), the write that found
 * it fails and the run stops, but its end must still be written (`error`, not `running`
 * for ever), and an SQLite commit needs room for its pages in the write-ahead log. So a
 * store keeps `benchyard.reserve` beside the database; the end of a run that finds the
 * disk full deletes it and writes again. The next store opened where there is room makes
 * it anew. Best effort: another process may take the room first.
 */
import { randomBytes } from 'node:crypto';
import { renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const RESERVE_FILE = 'benchyard.reserve';

/**
 * Ending a run writes a few pages (the run's row, its shard part, the ledger entry): 64 KiB
 * was enough on a full 2 MiB tmpfs; 256 KiB leaves room for larger pages and indexes.
 */
export const RESERVE_BYTES = 256 * 1024;

/** Makes the reserve where it is missing or short; a disk without the room keeps none. */
export function keepReserve(stateDir: string, bytes = RESERVE_BYTES): void {
  const file = path.join(stateDir, RESERVE_FILE);
  try {
    if (statSync(file).size >= bytes) return;
  } catch {
    // none yet
  }
  const partial = `${file}.${process.pid}`;
  try {
    // Random bytes: a compressing file system (btrfs, ZFS) would store zeros in no room at all.
    writeFileSync(partial, randomBytes(bytes), { flag: 'wx' });
    renameSync(partial, file);
  } catch {
    rmSync(partial, { force: true });
  }
}

/** Frees the reserve; true when there was one to free. */
export function spendReserve(stateDir: string): boolean {
  const file = path.join(stateDir, RESERVE_FILE);
  try {
    rmSync(file);
    return true;
  } catch {
    return false;
  }
}

/** Whether the controller process that made something still runs (knowable on its own host only). */
import os from 'node:os';

/**
 * `true` when `pid` runs on this host (the host names match); `false` when it provably does
 * not; `undefined` when it cannot be told here (another host, or no pid recorded).
 */
export function controllerRuns(host: string | undefined, pid: number | undefined): boolean | undefined {
  if (host !== os.hostname() || pid === undefined || !Number.isInteger(pid) || pid <= 0) return undefined;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

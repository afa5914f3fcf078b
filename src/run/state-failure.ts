/**
 * What a user reads when the state folder failed under a run (the embedded store, the
 * ledger or the artifact folder could not be written): which file and why, what became of
 * the run, and what to do. One message, printed once, exit 3.
 */
import { CancelledError, InfrastructureError, errorMessage, type Logger } from '../core/index.js';
import type { StateHealth } from './ports.js';

export interface StoreFailure {
  /** The store's first fault (names the file and the reason). */
  fault: InfrastructureError;
  runId: string;
  /** The `--state` folder as the user gave it. */
  state: string;
  /** Whether the run's end reached the store; undefined when the run was never stored. */
  endStored: boolean | undefined;
  /** What the store dropped after the fault. */
  lost: { samples: number; events: number };
  /** The error the run ended with, where it is not the fault itself. */
  other?: unknown;
}

export function storeFailure(f: StoreFailure): InfrastructureError {
  const lines = [f.fault.message];
  const lost = [
    ...(f.lost.samples > 0 ? [`${f.lost.samples} metric samples`] : []),
    ...(f.lost.events > 0 ? [`${f.lost.events} container events`] : []),
  ];
  const notStored = lost.length > 0 ? ` (${lost.join(' and ')} after the failure were not stored)` : '';
  if (f.endStored === undefined) lines.push(`run ${f.runId} stopped before it was stored.`);
  else if (f.endStored)
    lines.push(
      `run ${f.runId} stopped; it is marked 'error' with what was stored before the failure${notStored}.`,
    );
  else
    lines.push(
      `run ${f.runId} stopped, and its end could not be stored either: it shows as 'running' until \`benchyard gc --state ${f.state}\` marks it cancelled${notStored}.`,
    );
  lines.push(`${remedy(f.fault, f.state)}, then run again.`);
  if (f.other !== undefined && f.other !== f.fault)
    lines.push(`(the run also failed: ${errorMessage(f.other)})`);
  return new InfrastructureError(lines.join('\n'), { ...f.fault.meta, runId: f.runId }, { cause: f.fault });
}

function remedy(fault: InfrastructureError, state: string): string {
  const code = String(fault.meta.code ?? '');
  if (code === 'SQLITE_FULL' || code === 'ENOSPC' || code === 'EDQUOT')
    return `Free space on the disk under ${state} (or give another --state)`;
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'))
    return `Find the process that holds ${state}/benchyard.db locked (fuser, lsof) and let it finish`;
  if (code.startsWith('SQLITE_READONLY') || code === 'EROFS' || code.startsWith('SQLITE_CANTOPEN'))
    return `Make ${state} writable (or give another --state)`;
  return `Check the disk under ${state}`;
}

/**
 * The run's end as the user reads it where the state folder failed under it (the store's
 * fault, or the ledger's on the same file); undefined where it did not. A cancel stays a
 * cancel (exit 130), with the store's failure said once.
 */
export function stateFailure(
  health: StateHealth,
  err: unknown,
  runId: string,
  state: string,
  logger: Logger,
): InfrastructureError | undefined {
  // The ledger's fault on the same file counts, and comes first where the run ended with it.
  const fault =
    (err instanceof InfrastructureError && err.meta.file === health.file ? err : undefined) ?? health.failure;
  if (!fault) return undefined;
  if (err instanceof CancelledError) {
    logger.warn(fault.message);
    return undefined;
  }
  return storeFailure({
    fault,
    runId,
    state,
    endStored: health.runEndStored(runId),
    lost: health.lost,
    ...(err !== undefined ? { other: err } : {}),
  });
}

/** The one place errors become exit codes. */
import { BenchyardError } from '../core/index.js';

export const EXIT = {
  ok: 0,
  /** A benchmark repetition failed (non-zero exit, timeout, unparseable output), or a regression. */
  benchmarkFailed: 1,
  /** Bad input: a malformed matrix, a missing file, an unknown flag. Nothing was started. */
  badInput: 2,
  /**
   * Infrastructure: Docker, a store or a provider failed, or the state folder did (its disk
   * full, read-only, or locked by another process: `stateFault`); also any error benchyard
   * did not expect (a bug), never 1.
   */
  infrastructure: 3,
  /** Interrupted by SIGINT/SIGTERM (128 + SIGINT). */
  cancelled: 130,
} as const;

export function exitCodeFor(err: unknown): number {
  if (err instanceof BenchyardError) {
    switch (err.kind) {
      case 'input':
        return EXIT.badInput;
      case 'benchmark':
        return EXIT.benchmarkFailed;
      case 'infrastructure':
        return EXIT.infrastructure;
      case 'cancelled':
        return EXIT.cancelled;
    }
  }
  return EXIT.infrastructure;
}

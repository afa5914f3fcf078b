/**
 * Which repetitions statistics count: passed, measured (warmups and controls are recorded,
 * never counted), and — unless asked for with `--include-suspect` — not suspect: a
 * repetition that ran on unhealthy hardware (throttling, new ECC faults, XID errors) gives
 * numbers that look like a slower machine. Suspect ones stay stored and shown.
 */
import type { RepetitionResult } from '../core/index.js';

export function countsInStatistics(r: RepetitionResult, includeSuspect = false): boolean {
  return r.status === 'passed' && !r.warmup && !r.control && (includeSuspect || !isSuspect(r));
}

export function isSuspect(r: RepetitionResult): boolean {
  return (r.suspect?.length ?? 0) > 0;
}

/** What a report says about the suspect repetitions among `results`; none: nothing to say. */
export function suspectNote(
  results: readonly RepetitionResult[],
  includeSuspect = false,
): string | undefined {
  const n = results.filter((r) => countsInStatistics(r, true) && isSuspect(r)).length;
  if (n === 0) return undefined;
  const reps = `${n} suspect repetition${n === 1 ? '' : 's'}`;
  return includeSuspect
    ? `${reps} counted (--include-suspect): their hardware was not healthy while they ran`
    : `${reps} left out (hardware not healthy while they ran; \`results\` says why; --include-suspect counts them)`;
}

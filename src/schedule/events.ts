/** What a run reports while it goes (progress bars, logs, tests). */
import type { Machine, MatrixCell, RepetitionResult, RunRecord } from '../core/index.js';

export type RunEvent =
  | { type: 'run-started'; run: RunRecord }
  | { type: 'machine-ready'; target: string; machine: Machine }
  | { type: 'machine-lost'; target: string; machine: Machine; reason: string }
  /** A machine joined the running run: the target's capacity grew, or it replaces a lost one. */
  | { type: 'machine-joined'; target: string; machine: Machine; replaces?: string }
  /** The machine left its pool: `drain` finishes its current cells, `now` stops them (they run elsewhere). */
  | { type: 'machine-withdrawn'; target: string; machine: Machine; how: 'drain' | 'now' }
  /** The machine had nothing to run for its target's idle time and is released (elastic targets). */
  | { type: 'machine-idle'; target: string; machine: Machine }
  | { type: 'image-build'; target: string; image: string; context: string }
  | { type: 'repetition-started'; cell: MatrixCell; repetition: number }
  | { type: 'repetitions-extended'; cell: MatrixCell; measured: number }
  | { type: 'repetition-finished'; cell: MatrixCell; result: RepetitionResult }
  | { type: 'repetition-retried'; cell: MatrixCell; repetition: number; from: string; reason: string };

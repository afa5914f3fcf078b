/**
 * The line format a benchmark prints to report its own progress, live:
 *
 *     @benchyard metric=<name> value=<number> [unit=<unit>]
 *
 * `name` is letters, digits, `.`, `_` and `-`. Each line becomes one sample of scope
 * `app` the moment it is printed. The same lines can also be a score (see result-parser).
 */
import { METRIC_LINE_PREFIX, metricLineFields } from '../core/index.js';
import type { Reading } from './reading.js';

const NAME = /^[A-Za-z0-9_.-]{1,128}$/;
const UNIT_MAX_CHARS = 32;

export function parseAppLine(line: string, at: number, containerId?: string): Reading | undefined {
  const fields = metricLineFields(line.trimEnd());
  if (!fields) return undefined;
  const value = Number(fields.value);
  if (!fields.metric || !NAME.test(fields.metric) || fields.value === undefined || !Number.isFinite(value))
    return undefined;
  return {
    scope: 'app',
    name: fields.metric,
    unit: (fields.unit ?? '').slice(0, UNIT_MAX_CHARS),
    value,
    timestamp: at,
    ...(containerId ? { containerId } : {}),
  };
}

/**
 * `@benchyard` lines kept per repetition: one a second for a day (86,400) fits. Measured
 * (`npm run perf:flood`): 100,000 samples take ~14 MiB of database and ~1 s of the
 * controller's CPU; each line past the cap costs a prefix test.
 */
export const APP_LINES_PER_REPETITION = 100_000;

/**
 * Takes a container's stdout lines as they arrive and hands its `@benchyard` lines on in
 * batches (the lines of one chunk of output together, so they are stored in one write),
 * up to a cap per repetition; past the cap they are counted and dropped.
 */
export class AppLineFeed {
  private batch: string[] = [];
  private scheduled = false;
  /** Lines handed on. */
  kept = 0;
  /** Lines past the cap. */
  dropped = 0;

  /**
   * @param deliver receives each batch, in order
   * @param max lines handed on at most (default `APP_LINES_PER_REPETITION`)
   */
  constructor(
    private readonly deliver: (lines: readonly string[]) => void,
    private readonly max = APP_LINES_PER_REPETITION,
  ) {}

  line(text: string): void {
    if (!text.startsWith(METRIC_LINE_PREFIX)) return;
    if (this.kept >= this.max) {
      this.dropped++;
      return;
    }
    this.kept++;
    this.batch.push(text);
    if (!this.scheduled) {
      this.scheduled = true;
      // Lines of one chunk arrive in one synchronous loop: they go out together after it.
      setImmediate(() => this.flush());
    }
  }

  /** Hands on what is waiting (at the end of a repetition, before its summary is taken). */
  flush(): void {
    this.scheduled = false;
    if (this.batch.length === 0) return;
    const batch = this.batch;
    this.batch = [];
    this.deliver(batch);
  }
}

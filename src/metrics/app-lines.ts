/**
 * The line format a benchmark prints to report its own progress, live:
 *
 *     @benchyard metric=<name> value=<number> [unit=<unit>]
 *
 * `name` is letters, digits, `.`, `_` and `-`. Each line becomes one sample of scope
 * `app` the moment it is printed. The same lines can also be a score (see result-parser).
 */
import { metricLineFields } from '../core/index.js';
import type { Reading } from './reading.js';

const NAME = /^[A-Za-z0-9_.-]{1,128}$/;

export function parseAppLine(line: string, at: number, containerId?: string): Reading | undefined {
  const fields = metricLineFields(line.trimEnd());
  if (!fields) return undefined;
  const value = Number(fields.value);
  if (!fields.metric || !NAME.test(fields.metric) || fields.value === undefined || !Number.isFinite(value))
    return undefined;
  return {
    scope: 'app',
    name: fields.metric,
    unit: fields.unit ?? '',
    value,
    timestamp: at,
    ...(containerId ? { containerId } : {}),
  };
}

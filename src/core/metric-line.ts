/**
 * The line a benchmark prints to report a value: `@benchyard metric=<name> value=<number>
 * [unit=<unit>]`. Read live as a sample (metrics/app-lines) and at the end as a score
 * (engine/result-parser); this is the one reader of its fields.
 */

export const METRIC_LINE_PREFIX = '@benchyard';

/**
 * Longest line read as a metric line. The fields of a real one take a few dozen
 * characters; a longer line is output, not a report.
 */
export const METRIC_LINE_MAX_CHARS = 4096;

const FIELD_KEY = /^\w+$/;

/**
 * The `key=value` fields of a `@benchyard` line, or undefined for any other line. Split on
 * whitespace, never a backtracking pattern: the line is whatever the container printed.
 */
export function metricLineFields(line: string): Record<string, string> | undefined {
  if (!line.startsWith(METRIC_LINE_PREFIX) || line.length > METRIC_LINE_MAX_CHARS) return undefined;
  const rest = line.slice(METRIC_LINE_PREFIX.length);
  if (!/^\s/.test(rest)) return undefined;
  const fields: [string, string][] = [];
  for (const token of rest.split(/\s+/)) {
    const eq = token.indexOf('=');
    if (eq > 0 && eq < token.length - 1 && FIELD_KEY.test(token.slice(0, eq)))
      fields.push([token.slice(0, eq), token.slice(eq + 1)]);
  }
  // fromEntries defines own properties: a `__proto__=` field is a field, not a prototype.
  return Object.fromEntries(fields);
}

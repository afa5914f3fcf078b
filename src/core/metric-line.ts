/**
 * The line a benchmark prints to report a value: `@benchyard metric=<name> value=<number>
 * [unit=<unit>]`. Read live as a sample (metrics/app-lines) and at the end as a score
 * (engine/result-parser); this is the one reader of its fields.
 */
const LINE = /^@benchyard\s+(.*)$/;

/** The `key=value` fields of a `@benchyard` line, or undefined for any other line. */
export function metricLineFields(line: string): Record<string, string> | undefined {
  const m = LINE.exec(line);
  if (!m) return undefined;
  return Object.fromEntries([...m[1]!.matchAll(/(\w+)=(\S+)/g)].map((f) => [f[1]!, f[2]!]));
}

/** Extracts declared scores from a finished container's output and files. Pure. */
import { JSONPath } from 'jsonpath-plus';
import { median } from 'simple-statistics';
import { metricLineFields, type Score, type ScoreSpec } from '../core/index.js';

/** What a container left behind: its two streams and the files copied out of it (by container path). */
export interface ContainerOutput {
  stdout: string;
  stderr: string;
  files?: ReadonlyMap<string, string>;
}

export type ParseOutcome = { ok: true; scores: Score[] } | { ok: false; reason: string };

export function parseScores(specs: readonly ScoreSpec[], output: ContainerOutput): ParseOutcome {
  const scores: Score[] = [];
  const missing: string[] = [];
  const json = new Map<string, unknown>();
  for (const spec of specs) {
    const text = sourceText(spec.from, output);
    let value = NaN;
    if (text !== undefined) {
      if (spec.regex !== undefined) value = fromRegex(spec, text);
      else if (spec.metric !== undefined) value = lastMetric(spec.metric, text);
      else if (spec.json !== undefined) {
        if (!json.has(spec.from)) json.set(spec.from, parseJsonDocument(text));
        value = fromJson(spec.json, json.get(spec.from));
      }
    }
    if (!Number.isFinite(value)) {
      missing.push(
        `${spec.name} (${describe(spec)} on ${spec.from}${text === undefined ? ', which the container did not write' : ''})`,
      );
      continue;
    }
    scores.push({
      name: spec.name,
      value: value * (spec.scale ?? 1),
      unit: spec.unit,
      direction: spec.direction,
    });
  }
  if (missing.length > 0) {
    return {
      ok: false,
      reason: `score not found: ${missing.join('; ')}; output ends with: ${tail(output.stdout || output.stderr)}`,
    };
  }
  return { ok: true, scores };
}

function sourceText(from: string, output: ContainerOutput): string | undefined {
  if (from === 'stdout' || from === 'stderr') return output[from];
  return output.files?.get(from);
}

function describe(spec: ScoreSpec): string {
  if (spec.regex !== undefined) return `regex /${spec.regex}/`;
  if (spec.metric !== undefined) return `@benchyard metric=${spec.metric}`;
  return `json ${spec.json}`;
}

function fromRegex(spec: ScoreSpec, text: string): number {
  const values = [...text.matchAll(new RegExp(spec.regex!, 'gm'))].map((m) =>
    toNumber(m.groups?.value ?? m[1] ?? m[0]),
  );
  const match = spec.match ?? 'first';
  if (match === 'first') return values[0] ?? NaN;
  if (match === 'last') return values.at(-1) ?? NaN;
  return reduce(values.filter(Number.isFinite), spec.reduce ?? 'mean');
}

function reduce(values: number[], how: NonNullable<ScoreSpec['reduce']>): number {
  if (values.length === 0) return NaN;
  const sum = values.reduce((a, b) => a + b, 0);
  switch (how) {
    case 'sum':
      return sum;
    case 'mean':
      return sum / values.length;
    case 'min':
      return Math.min(...values);
    case 'max':
      return Math.max(...values);
    case 'median':
      return median(values);
  }
}

/** `@benchyard metric=<name> value=<number> [unit=<unit>]`: the last value reported for `name`. */
function lastMetric(name: string, text: string): number {
  let value = NaN;
  for (const line of text.split('\n')) {
    const fields = metricLineFields(line);
    if (fields?.metric === name) value = toNumber(fields.value);
  }
  return value;
}

function fromJson(path: string, doc: unknown): number {
  if (doc === undefined) return NaN;
  let raw: unknown = JSONPath({ path, json: doc as object, wrap: false });
  if (Array.isArray(raw)) raw = raw[0];
  return toNumber(raw);
}

function toNumber(raw: unknown): number {
  if (typeof raw === 'number') return raw;
  if (typeof raw === 'string' && raw.trim() !== '') return Number(raw);
  return NaN;
}

/** The stream as JSON; tolerates tool chatter before the document (fio prints notes first). */
function parseJsonDocument(text: string): unknown {
  const start = text.search(/^[{[]/m);
  if (start < 0) return undefined;
  try {
    return JSON.parse(text.slice(start));
  } catch {
    return undefined;
  }
}

export function tail(text: string, lines = 5, chars = 600): string {
  const t = text.trimEnd().split('\n').slice(-lines).join(' ⏎ ');
  return JSON.stringify(t.length > chars ? `…${t.slice(-chars)}` : t);
}

/**
 * Extracts declared scores from a finished container's output and files. Whatever the
 * output and the definition hold, it answers: a score that cannot be read is named in a
 * failure, never thrown. Regexes run with a deadline (regex-runner); JSON paths are walked,
 * never evaluated (core/json-path).
 */
import { median } from 'simple-statistics';
import { metricLineFields, parseJsonPath, readJsonPath, type Score, type ScoreSpec } from '../core/index.js';
import { runRegexJobs, type RegexAnswer, type RegexJob } from './regex-runner.js';
import { planRegex } from './score-regex.js';

/** What a container left behind: its two streams and the files copied out of it (by container path). */
export interface ContainerOutput {
  stdout: string;
  stderr: string;
  files?: ReadonlyMap<string, string>;
}

export type ParseOutcome = { ok: true; scores: Score[] } | { ok: false; reason: string };

export interface ParseOptions {
  /**
   * Most time all regexes of one output may take together; one still running then is
   * stopped and its score fails.
   * @default 10_000
   */
  deadlineMs?: number;
  /** Cancels parsing (a regex running is stopped). */
  signal?: AbortSignal;
}

export const PARSE_DEADLINE_MS = 10_000;

export async function parseScores(
  specs: readonly ScoreSpec[],
  output: ContainerOutput,
  opts: ParseOptions = {},
): Promise<ParseOutcome> {
  const regexes = await regexAnswers(specs, output, opts);
  const scores: Score[] = [];
  const missing: string[] = [];
  const json = new Map<string, unknown>();
  for (const spec of specs) {
    const text = sourceText(spec.from, output);
    let value = NaN;
    let why = text === undefined ? ', which the container did not write' : '';
    try {
      if (text === undefined) value = NaN;
      else if (spec.regex !== undefined) [value, why] = fromRegex(spec, regexes.get(spec)!);
      else if (spec.metric !== undefined) value = lastMetric(spec.metric, text);
      else if (spec.json !== undefined) {
        if (!json.has(spec.from)) json.set(spec.from, parseJsonDocument(text));
        [value, why] = fromJson(spec.json, json.get(spec.from));
      }
    } catch (err) {
      value = NaN;
      why = `: ${err instanceof Error ? err.message : String(err)}`;
    }
    if (!Number.isFinite(value)) {
      missing.push(`${spec.name} (${describe(spec)} on ${spec.from}${why})`);
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

/** Every regex score's matches, all searched at once under one deadline. */
async function regexAnswers(
  specs: readonly ScoreSpec[],
  output: ContainerOutput,
  opts: ParseOptions,
): Promise<Map<ScoreSpec, RegexAnswer>> {
  const answers = new Map<ScoreSpec, RegexAnswer>();
  // One search per pattern and source, however many scores reduce its matches.
  const jobs = new Map<string, { job: RegexJob; specs: ScoreSpec[] }>();
  const texts: Record<string, string> = {};
  for (const spec of specs) {
    if (spec.regex === undefined) continue;
    const text = sourceText(spec.from, output);
    if (text === undefined) continue;
    const plan = planRegex(spec.regex);
    if ('error' in plan) {
      answers.set(spec, { error: `not a valid regular expression: ${plan.error}` });
      continue;
    }
    texts[spec.from] = text;
    const key = `${spec.from}\0${spec.regex}`;
    const entry = jobs.get(key) ?? {
      job: { pattern: spec.regex, engine: plan.engine, source: spec.from, firstOnly: true },
      specs: [],
    };
    jobs.set(key, entry);
    entry.specs.push(spec);
    if ((spec.match ?? 'first') !== 'first') entry.job.firstOnly = false;
  }
  if (jobs.size === 0) return answers;
  const all = [...jobs.values()];
  const replies = await runRegexJobs(
    all.map((j) => j.job),
    texts,
    { deadlineMs: opts.deadlineMs ?? PARSE_DEADLINE_MS, ...(opts.signal ? { signal: opts.signal } : {}) },
  );
  all.forEach((j, i) => j.specs.forEach((spec) => answers.set(spec, replies[i]!)));
  return answers;
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

function fromRegex(spec: ScoreSpec, answer: RegexAnswer): [number, string] {
  if ('unfinished' in answer)
    return [
      NaN,
      answer.unfinished === 'cancelled'
        ? ': cancelled while matching'
        : ': the regex did not finish within the parse deadline (it may backtrack catastrophically)',
    ];
  if ('error' in answer) return [NaN, `: ${answer.error}`];
  const values = answer.values.map(toNumber);
  const match = spec.match ?? 'first';
  if (match === 'first') return [values[0] ?? NaN, ''];
  if (match === 'last') return [values.at(-1) ?? NaN, ''];
  return [reduce(values.filter(Number.isFinite), spec.reduce ?? 'mean'), ''];
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
      return values.reduce((a, b) => Math.min(a, b));
    case 'max':
      return values.reduce((a, b) => Math.max(a, b));
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

function fromJson(path: string, doc: unknown): [number, string] {
  if (doc === undefined) return [NaN, ': no JSON document found'];
  const parsed = parseJsonPath(path);
  if ('error' in parsed) return [NaN, `: ${parsed.error}`];
  return [toNumber(readJsonPath(doc, parsed.steps)), ''];
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
  // The end only: an output of 32 MiB is not split into lines to show five of them.
  const t = text
    .trimEnd()
    .slice(-16 * chars)
    .split('\n')
    .slice(-lines)
    .join(' ⏎ ');
  return JSON.stringify(t.length > chars ? `…${t.slice(-chars)}` : t);
}

/** Extracts declared scores from a finished container's output. Pure. */
import { JSONPath } from 'jsonpath-plus';
import type { Score, ScoreSpec } from '../core/index.js';

export type ParseOutcome = { ok: true; scores: Score[] } | { ok: false; reason: string };

export function parseScores(
  specs: readonly ScoreSpec[],
  output: { stdout: string; stderr: string },
): ParseOutcome {
  const scores: Score[] = [];
  const missing: string[] = [];
  const json = new Map<string, unknown>();
  for (const spec of specs) {
    const text = output[spec.from];
    let raw: unknown;
    if (spec.regex !== undefined) raw = matchRegex(spec.regex, spec.match ?? 'first', text);
    else if (spec.json !== undefined) {
      if (!json.has(spec.from)) json.set(spec.from, parseJsonDocument(text));
      const doc = json.get(spec.from);
      raw = doc === undefined ? undefined : JSONPath({ path: spec.json, json: doc as object, wrap: false });
      if (Array.isArray(raw)) raw = raw[0];
    }
    const value =
      typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
    if (!Number.isFinite(value)) {
      missing.push(
        `${spec.name} (${spec.regex !== undefined ? `regex /${spec.regex}/` : `json ${spec.json}`} on ${spec.from})`,
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

function matchRegex(pattern: string, which: 'first' | 'last', text: string): string | undefined {
  const matches = [...text.matchAll(new RegExp(pattern, 'gm'))];
  const m = which === 'last' ? matches.at(-1) : matches[0];
  return m ? (m.groups?.value ?? m[1] ?? m[0]) : undefined;
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

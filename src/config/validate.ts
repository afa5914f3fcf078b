/** Turns zod issues into located diagnostics. */
import type { z } from 'zod';
import type { Diagnostic } from '../core/index.js';
import type { PathSegment, YamlSource } from './yaml-source.js';

export function zodDiagnostics(source: YamlSource, error: z.ZodError, raw: unknown): Diagnostic[] {
  return located(source, error.issues, raw, []);
}

function located(
  source: YamlSource,
  issues: readonly z.core.$ZodIssue[],
  raw: unknown,
  prefix: readonly PathSegment[],
): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path.filter((p): p is PathSegment => typeof p !== 'symbol')];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push(source.diagnostic(path, `unknown key '${key}'`, key));
      continue;
    }
    if (issue.code === 'invalid_type' && valueAt(raw, path) === undefined) {
      const key = path.at(-1);
      out.push(source.diagnostic(path.slice(0, -1), `missing required key '${String(key)}'`));
      continue;
    }
    if (issue.code === 'invalid_union') {
      // Report the problems of the one alternative whose type matched (e.g. an inline
      // definition that is a mapping but has a bad field), not a bare "Invalid input".
      const matching = issue.errors.filter(
        (branch) => !branch.some((i) => i.code === 'invalid_type' && i.path.length === 0),
      );
      if (matching.length === 1) {
        out.push(...located(source, matching[0]!, raw, path));
        continue;
      }
    }
    out.push(source.diagnostic(path, issue.message));
  }
  return out;
}

/** Diagnostics sorted by position, so a user fixes them top to bottom. */
export function sortDiagnostics(list: Diagnostic[]): Diagnostic[] {
  return list.sort((a, b) => a.line - b.line || a.col - b.col);
}

function valueAt(raw: unknown, path: readonly PathSegment[]): unknown {
  let v = raw;
  for (const seg of path) {
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, seg)) return undefined;
    v = (v as Record<string | number, unknown>)[seg];
  }
  return v;
}

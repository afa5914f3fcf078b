/**
 * The two engines a score regex can run on, and what each pattern gets. Pure: the thread
 * it runs on and its deadline are regex-runner's.
 *
 * - `re2` (re2js, a port of RE2): time linear in the output whatever the pattern, so
 *   `^(a+)+$` cannot hang it. Every pattern its syntax allows runs here.
 * - `backtracking` (the JavaScript engine): only for what RE2 lacks (backreferences,
 *   lookaround, `\u` escapes); such a pattern can take exponential time, so it always runs
 *   off the main thread with a deadline, and `benchmark validate` warns when it can tell.
 */
import { RE2JS } from 're2js';

export type RegexEngine = 're2' | 'backtracking';

export interface RegexPlan {
  engine: RegexEngine;
  /** Why the pattern may backtrack catastrophically (backtracking engine only). */
  risk?: string;
}

/** The engine a pattern runs on, or why neither engine takes it. */
export function planRegex(pattern: string): RegexPlan | { error: string } {
  try {
    RE2JS.compile(pattern, RE2JS.MULTILINE);
    return { engine: 're2' };
  } catch {
    // Not RE2 syntax: the JavaScript engine may still take it.
  }
  try {
    new RegExp(pattern, 'm');
  } catch (err) {
    return { error: (err as Error).message };
  }
  const risk = backtrackingRisk(pattern);
  return risk ? { engine: 'backtracking', risk } : { engine: 'backtracking' };
}

/**
 * Every value the pattern captures in `text`, in order: the named group `value`, else the
 * first group, else the whole match, up to `max` of them. Patterns match line by line
 * (`^`/`$` at line ends).
 */
export function regexValues(pattern: string, engine: RegexEngine, text: string, max = Infinity): string[] {
  const values: string[] = [];
  const matches =
    engine === 're2'
      ? // RE2 ends lines at \n only; JavaScript, whose semantics scores were written for, at \r too.
        RE2JS.compile(pattern, RE2JS.MULTILINE).matchAll(
          pattern.includes('\\r') ? text : text.replace(/\r/g, '\n'),
        )
      : text.matchAll(new RegExp(pattern, 'gm'));
  for (const m of matches) {
    if (values.length >= max) break;
    const groups = m.groups as Record<string, string | undefined> | undefined;
    values.push(groups?.value ?? m[1] ?? m[0] ?? '');
  }
  return values;
}

/**
 * A quantified group that holds an unbounded quantifier (`(a+)+`, `(\w+\s?)*`, `(?:x*){2,}`):
 * the classic shape of catastrophic backtracking. Other shapes exist (overlapping
 * alternatives under a quantifier); the deadline covers those.
 */
export function backtrackingRisk(pattern: string): string | undefined {
  // Per open group: where it starts and whether it holds an unbounded quantifier.
  const groups: { start: number; unbounded: boolean }[] = [];
  let lastGroup: { start: number; unbounded: boolean } | undefined;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    let closed: { start: number; unbounded: boolean } | undefined;
    if (c === '\\') {
      i++;
    } else if (c === '[') {
      i = classEnd(pattern, i);
    } else if (c === '(') {
      groups.push({ start: i, unbounded: false });
    } else if (c === ')') {
      closed = groups.pop();
    } else {
      const q = quantifier(pattern, i);
      if (q) {
        if (lastGroup?.unbounded && q.repeats)
          return `the group ${pattern.slice(lastGroup.start, i)} repeats an unbounded quantifier (${pattern.slice(lastGroup.start, q.end + 1)})`;
        if (q.unbounded || lastGroup?.unbounded) for (const g of groups) g.unbounded = true;
        i = q.end;
      }
    }
    lastGroup = closed;
    if (closed?.unbounded && groups.length > 0) groups.at(-1)!.unbounded = true;
  }
  return undefined;
}

function classEnd(p: string, open: number): number {
  let i = open + 1;
  if (p[i] === '^') i++;
  if (p[i] === ']') i++;
  for (; i < p.length; i++) {
    if (p[i] === '\\') i++;
    else if (p[i] === ']') return i;
  }
  return p.length;
}

/** The quantifier at `i`: whether it is unbounded and whether it repeats more than once. */
function quantifier(p: string, i: number): { end: number; unbounded: boolean; repeats: boolean } | undefined {
  const lazy = (end: number) => (p[end + 1] === '?' || p[end + 1] === '+' ? end + 1 : end);
  if (p[i] === '*' || p[i] === '+') return { end: lazy(i), unbounded: true, repeats: true };
  if (p[i] === '?') return { end: lazy(i), unbounded: false, repeats: false };
  const m = /^\{(\d+)(,(\d*))?\}/.exec(p.slice(i, i + 24));
  if (!m) return undefined;
  const max = m[2] === undefined ? Number(m[1]) : m[3] === '' ? Infinity : Number(m[3]);
  return { end: lazy(i + m[0].length - 1), unbounded: max === Infinity, repeats: max > 1 };
}

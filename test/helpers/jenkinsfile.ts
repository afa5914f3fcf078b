/**
 * Reads a declarative Jenkinsfile the way the tests need it: Groovy tokens (comments, the four
 * string forms with Groovy's escapes, brackets that must balance) and the nested directives
 * `name args { body }` of the declarative syntax. Not a Groovy parser: expressions stay tokens.
 * Escapes and line continuations as the Groovy language documentation gives them
 * (groovy-lang.org/syntax.html, "Escaping special characters", "Triple-single-quoted string").
 */

export interface Token {
  kind: 'word' | 'number' | 'string' | 'punct' | 'newline';
  /** The source text; for a string, its value after escapes. */
  text: string;
  /** Strings only: the quote it was written with. */
  quote?: "'" | '"' | "'''" | '"""';
  /** Strings only: a double-quoted string with an unescaped `$`, which Groovy expands. */
  gstring?: boolean;
  line: number;
}

export interface Directive {
  name: string;
  /** The tokens between the name and the body (or the end of the statement). */
  args: Token[];
  body?: Directive[];
  line: number;
}

export class JenkinsfileError extends Error {}

const ESCAPES: Record<string, string> = {
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  s: ' ',
  t: '\t',
  '\\': '\\',
  "'": "'",
  '"': '"',
  $: '$',
};

const CLOSER: Record<string, string> = { '{': '}', '(': ')', '[': ']' };

export function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  const open: { ch: string; line: number }[] = [];
  let line = 1;
  let i = 0;
  const fail = (msg: string, at = line): never => {
    throw new JenkinsfileError(`line ${at}: ${msg}`);
  };
  while (i < src.length) {
    const c = src[i]!;
    if (c === '\n') {
      tokens.push({ kind: 'newline', text: '\n', line });
      line++;
      i++;
    } else if (c === ' ' || c === '\t' || c === '\r') i++;
    else if (src.startsWith('//', i)) while (i < src.length && src[i] !== '\n') i++;
    else if (src.startsWith('/*', i)) {
      const end = src.indexOf('*/', i + 2);
      if (end < 0) fail('comment /* never closed');
      line += countLines(src.slice(i, end));
      i = end + 2;
    } else if (c === "'" || c === '"') {
      const quote = (src.startsWith(c.repeat(3), i) ? c.repeat(3) : c) as NonNullable<Token['quote']>;
      const start = line;
      const { value, next, lines, dollar } = readString(src, i + quote.length, quote, (m) => fail(m, start));
      tokens.push({ kind: 'string', text: value, quote, gstring: c === '"' && dollar, line: start });
      line += lines;
      i = next;
    } else if (/[A-Za-z_$]/.test(c)) {
      const m = /^[A-Za-z_$][\w$]*/.exec(src.slice(i))![0];
      tokens.push({ kind: 'word', text: m, line });
      i += m.length;
    } else if (/\d/.test(c)) {
      const m = /^\d+(\.\d+)?/.exec(src.slice(i))![0];
      tokens.push({ kind: 'number', text: m, line });
      i += m.length;
    } else {
      if (c in CLOSER) open.push({ ch: c, line });
      else if (c === '}' || c === ')' || c === ']') {
        const o = open.pop();
        if (!o) fail(`'${c}' closes nothing`);
        if (CLOSER[o!.ch] !== c) fail(`'${c}' closes the '${o!.ch}' of line ${o!.line}`);
      }
      tokens.push({ kind: 'punct', text: c, line });
      i++;
    }
  }
  const unclosed = open.pop();
  if (unclosed) fail(`'${unclosed.ch}' never closed`, unclosed.line);
  return tokens;
}

function countLines(s: string): number {
  return s.split('\n').length - 1;
}

/** A string's value from after its opening quote; `next`: the index after the closing quote. */
function readString(
  src: string,
  from: number,
  quote: string,
  fail: (msg: string) => never,
): { value: string; next: number; lines: number; dollar: boolean } {
  const triple = quote.length === 3;
  let value = '';
  let lines = 0;
  let dollar = false;
  let i = from;
  for (;;) {
    if (i >= src.length) fail(`string ${quote} never closed`);
    if (src.startsWith(quote, i)) return { value, next: i + quote.length, lines, dollar };
    const c = src[i]!;
    if (c === '\n') {
      if (!triple) fail(`string ${quote} runs past the end of its line`);
      lines++;
    }
    if (c !== '\\') {
      if (c === '$') dollar = true;
      value += c;
      i++;
      continue;
    }
    const e = src[i + 1];
    if (e === '\n' && triple) {
      // A backslash before the newline joins the lines (the newline is not part of the value).
      lines++;
      i += 2;
    } else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(src.slice(i + 2, i + 6))) {
      value += String.fromCharCode(parseInt(src.slice(i + 2, i + 6), 16));
      i += 6;
    } else if (e !== undefined && e in ESCAPES) {
      value += ESCAPES[e];
      i += 2;
    } else fail(`unknown escape \\${e ?? ''} in a string`);
  }
}

/** The directives of a Jenkinsfile: `name args` or `name args { … }`, one per statement. */
export function parseJenkinsfile(src: string): Directive[] {
  const tokens = tokenize(src);
  const { body, next } = parseBlock(tokens, 0);
  if (next < tokens.length) throw new JenkinsfileError(`line ${tokens[next]!.line}: '}' closes nothing`);
  return body;
}

function parseBlock(tokens: Token[], from: number): { body: Directive[]; next: number } {
  const body: Directive[] = [];
  let i = from;
  for (;;) {
    while (i < tokens.length && (tokens[i]!.kind === 'newline' || tokens[i]!.text === ';')) i++;
    const t = tokens[i];
    if (!t || (t.kind === 'punct' && t.text === '}')) return { body, next: i };
    if (t.kind !== 'word')
      throw new JenkinsfileError(`line ${t.line}: expected a directive or step, found '${t.text}'`);
    const directive: Directive = { name: t.text, args: [], line: t.line };
    i++;
    let depth = 0;
    for (; i < tokens.length; i++) {
      const a = tokens[i]!;
      if (depth === 0 && a.kind === 'newline' && directive.args.at(-1)?.text !== ',') break;
      if (depth === 0 && a.kind === 'punct' && (a.text === '}' || a.text === ';')) break;
      if (depth === 0 && a.kind === 'punct' && a.text === '{') {
        const inner = parseBlock(tokens, i + 1);
        directive.body = inner.body;
        i = inner.next + 1;
        break;
      }
      if (a.kind === 'punct' && a.text in CLOSER) depth++;
      if (a.kind === 'punct' && (a.text === ')' || a.text === ']' || a.text === '}')) depth--;
      if (a.kind !== 'newline') directive.args.push(a);
    }
    body.push(directive);
  }
}

/** The children of a directive named `name`. */
export function children(of: Directive | Directive[] | undefined, name: string): Directive[] {
  const list = Array.isArray(of) ? of : (of?.body ?? []);
  return list.filter((d) => d.name === name);
}

export function child(of: Directive | Directive[] | undefined, name: string): Directive | undefined {
  return children(of, name)[0];
}

/** The value of `key: <literal>` in the directive's arguments (a string, number, true/false). */
export function namedArg(d: Directive, key: string): string | undefined {
  const a = d.args;
  for (let i = 0; i + 2 < a.length; i++)
    if (a[i]!.kind === 'word' && a[i]!.text === key && a[i + 1]!.text === ':') return a[i + 2]!.text;
  return undefined;
}

/** The first string argument (a stage's name, a plain `sh '…'`'s script). */
export function firstString(d: Directive): Token | undefined {
  return d.args.find((t) => t.kind === 'string');
}

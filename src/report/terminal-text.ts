/**
 * Text from users and containers (param values, names, output tails) made safe for a
 * terminal line: control characters become visible escapes, so a value cannot end the
 * line, move the cursor, recolour the terminal or reorder what follows it (bidi controls).
 */

// C0 controls, DEL, C1 controls (0x9B is an 8-bit CSI), the Unicode bidi controls and
// line/paragraph separators.
/* eslint-disable no-control-regex */
const CONTROL = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const CONTROL_BUT_NEWLINE =
  /[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
/* eslint-enable no-control-regex */

const NAMED = new Map([
  ['\n', '\\n'],
  ['\r', '\\r'],
  ['\t', '\\t'],
]);

function escape(ch: string): string {
  const code = ch.charCodeAt(0);
  return NAMED.get(ch) ?? (code <= 0xff ? `\\x${hex(code, 2)}` : `\\u${hex(code, 4)}`);
}

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');

/** One terminal line: every control character escaped, newlines included. */
export function escapeControl(text: string): string {
  return text.replace(CONTROL, escape);
}

/** Several lines (a message of many diagnostics, a table cell): newlines kept, the rest escaped. */
export function escapeControlKeepLines(text: string): string {
  return text.replace(CONTROL_BUT_NEWLINE, escape);
}

/** Secret redaction for messages and structured metadata. */

const SECRET_KEY = /(pass(word)?|secret|token|api[-_]?key|authorization|credential)/i;

/** Masks credentials embedded in URLs (`https://user:pw@host`) and `key=value` secrets in free text. */
export function redact(text: string): string {
  return text
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:)[^\s@/]+@/gi, '$1***@')
    .replace(
      /\b((?:pass(?:word)?|secret|token|api[-_]?key)\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s,;&]+)/gi,
      '$1***',
    );
}

/** Deep copy with values under secret-looking keys masked and strings passed through `redact`. */
export function redactValue(value: unknown, depth = 0): unknown {
  if (depth > 8) return '[…]';
  if (typeof value === 'string') return redact(value);
  if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1));
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value))
      out[k] = SECRET_KEY.test(k) ? '***' : redactValue(v, depth + 1);
    return out;
  }
  return value;
}

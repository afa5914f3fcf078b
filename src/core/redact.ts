/** Secret redaction for messages and structured metadata. */

const SECRET_KEY =
  /(pass(word)?|passphrase|secret|token|api[-_]?key|authorization|credential|private[-_]?key)/i;

/** Secret values known to this process (API keys, key passphrases), masked wherever they appear. */
const knownSecrets = new Set<string>();

/**
 * Registers a secret value (an API key read from the environment, a cloud secret key):
 * from then on `redact` masks it in every message, log line and stored record.
 */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 8) knownSecrets.add(value);
}

/**
 * Masks known secret values, private key blocks, AWS access key ids, HTTP auth headers,
 * credentials embedded in URLs (`https://user:pw@host`) and `key=value` secrets in free text.
 */
export function redact(text: string): string {
  for (const secret of knownSecrets) if (text.includes(secret)) text = text.split(secret).join('***');
  return text
    .replace(
      /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g,
      '[private key]',
    )
    .replace(/\b(AKIA|ASIA)[0-9A-Z]{16}\b/g, '$1***')
    .replace(/\b(Basic|Bearer)\s+[A-Za-z0-9+/=._~-]{8,}/g, '$1 ***')
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

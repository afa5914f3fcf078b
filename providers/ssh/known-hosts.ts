/**
 * Host key verification against an OpenSSH known_hosts file: plain and hashed (`|1|salt|hash`)
 * host fields, `[host]:port` for non-default ports, comma-separated names, `@revoked`
 * markers. Wildcard patterns and `@cert-authority` lines are not matched (they never verify).
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';

export interface KnownHostKey {
  keyType: string;
  /** Base64 of the public key blob. */
  key: string;
  revoked: boolean;
}

export function parseKnownHosts(text: string, host: string, port: number): KnownHostKey[] {
  const name = port === 22 ? host : `[${host}]:${port}`;
  const out: KnownHostKey[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    let marker: string | undefined;
    if (fields[0]!.startsWith('@')) marker = fields.shift();
    if (marker === '@cert-authority' || fields.length < 3) continue;
    const [hosts, keyType, key] = fields as [string, string, string];
    if (hosts.split(',').some((h) => matches(h, name)))
      out.push({ keyType, key, revoked: marker === '@revoked' });
  }
  return out;
}

function matches(field: string, name: string): boolean {
  if (field.startsWith('!')) return false;
  if (!field.startsWith('|1|')) return field === name;
  const [, , salt, hash] = field.split('|');
  if (!salt || !hash) return false;
  return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
}

/**
 * Whether `presented` (the raw key blob the server sent) is a known, non-revoked key of the
 * host. A missing file verifies nothing.
 */
export function verifyHostKey(file: string, host: string, port: number, presented: Buffer): boolean {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return false;
  }
  const keys = parseKnownHosts(text, host, port);
  const blob = presented.toString('base64');
  if (keys.some((k) => k.revoked && k.key === blob)) return false;
  return keys.some((k) => !k.revoked && k.key === blob);
}

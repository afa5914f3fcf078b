/**
 * Where the SoftLayer API user name and key come from, in the order the official clients use:
 * `SL_USERNAME` / `SL_API_KEY` (and `SL_ENDPOINT_URL`, softlayer-go), then the slcli config
 * files `~/.softlayer` and `/etc/softlayer.conf` (INI, section `[softlayer]`, keys `username`,
 * `api_key`, `endpoint_url`; softlayer-python `SoftLayer/config.py`). Each key is taken from
 * the first place that has it. The key is never logged and never put into an error.
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { InputError, registerSecret } from '../../src/core/index.js';

export const DEFAULT_ENDPOINT = 'https://api.softlayer.com/rest/v3.1/';

export interface SoftlayerCredentials {
  username: string;
  apiKey: string;
  /** `endpoint_url` / `SL_ENDPOINT_URL`, turned into its REST form; absent when unset. */
  endpoint?: string;
}

export interface CredentialSources {
  env?: NodeJS.ProcessEnv;
  /** Config files to read, first wins; default `~/.softlayer`, `/etc/softlayer.conf`. */
  files?: readonly string[];
}

export async function loadCredentials(sources: CredentialSources = {}): Promise<SoftlayerCredentials> {
  const env = sources.env ?? process.env;
  const files = sources.files ?? [path.join(os.homedir(), '.softlayer'), '/etc/softlayer.conf'];
  const found: { username?: string; apiKey?: string; endpoint?: string } = {
    username: env.SL_USERNAME || undefined,
    apiKey: env.SL_API_KEY || undefined,
    endpoint: env.SL_ENDPOINT_URL || undefined,
  };
  const looked = ['environment (SL_USERNAME, SL_API_KEY)'];
  for (const file of files) {
    if (found.username && found.apiKey && found.endpoint) break;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      looked.push(
        `${file} (${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : 'unreadable'})`,
      );
      continue;
    }
    const section = parseIni(text).get('softlayer');
    looked.push(section ? file : `${file} (no [softlayer] section)`);
    found.username ??= section?.get('username') || undefined;
    found.apiKey ??= section?.get('api_key') || undefined;
    found.endpoint ??= section?.get('endpoint_url') || undefined;
  }
  if (!found.username || !found.apiKey) {
    const missing = [!found.username && 'username', !found.apiKey && 'API key'].filter(Boolean).join(' and ');
    throw new InputError(
      `no SoftLayer ${missing} found; set SL_USERNAME and SL_API_KEY, or username and api_key in the ` +
        `[softlayer] section of ~/.softlayer (looked in: ${looked.join(', ')})`,
      { looked },
    );
  }
  registerSecret(found.apiKey);
  return {
    username: found.username,
    apiKey: found.apiKey,
    ...(found.endpoint ? { endpoint: restEndpoint(found.endpoint) } : {}),
  };
}

/**
 * slcli configs usually name the XML-RPC endpoint (`…/xmlrpc/v3.1/`); the REST one sits at
 * the same place under `/rest/` (softlayer-python `consts.py`).
 */
export function restEndpoint(url: string): string {
  return normaliseEndpoint(url.replace('/xmlrpc/', '/rest/'));
}

/** One spelling per endpoint (trailing slash), so ledger details and client caches agree. */
export function normaliseEndpoint(url: string): string {
  return url.replace(/\/*$/, '/');
}

/** Minimal INI: `[section]`, `key = value` or `key: value`, `#` / `;` comment lines. */
function parseIni(text: string): Map<string, Map<string, string>> {
  const sections = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header) {
      current = new Map();
      sections.set(header[1]!.trim().toLowerCase(), current);
      continue;
    }
    const kv = /^([^=:]+)[=:](.*)$/.exec(line);
    if (kv && current) current.set(kv[1]!.trim().toLowerCase(), kv[2]!.trim());
  }
  return sections;
}

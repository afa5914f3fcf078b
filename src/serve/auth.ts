/**
 * Who may use the server. With a token, every request carries it: `Authorization: Bearer
 * <token>`, or the session cookie a browser gets by opening a URL with `?token=` once.
 * Without one (loopback only), requests must name a loopback host, so a web page whose
 * name was rebound to 127.0.0.1 (DNS rebinding) cannot read the API.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { InputError } from '../core/index.js';

export const SESSION_COOKIE = 'benchyard_session';

/** True for addresses only this machine reaches: 127.0.0.0/8, ::1, localhost. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  return mapped !== null && mapped[1]!.startsWith('127.');
}

/**
 * The shortest token accepted. The token is all that stands between the network and the
 * API, and nothing slows down guessing it: at 10,000 guesses a second, 6 random letters
 * and digits fall within days and 8 within a few years, while 16 random hex characters
 * (64 bits) hold some 30 million years on average. A length is what can be checked of a
 * token's randomness; the hint says how to make a random one.
 */
export const MIN_TOKEN_LENGTH = 16;

/** How to make a good one, for messages. */
export const TOKEN_HINT = 'e.g. export BENCHYARD_TOKEN=$(openssl rand -hex 24)';

/** InputError for a token too weak to protect anything; its text is never repeated. */
export function checkToken(token: string): void {
  if (token.length === 0)
    throw new InputError('the token is empty (--token or BENCHYARD_TOKEN): it would protect nothing');
  if (token.length < MIN_TOKEN_LENGTH)
    throw new InputError(
      `the token has ${token.length} characters: give one of at least ${MIN_TOKEN_LENGTH}, random (${TOKEN_HINT})`,
    );
  // It travels in an Authorization header and a URL: visible ASCII without spaces only.
  if (!/^[\x21-\x7e]+$/.test(token))
    throw new InputError(
      'the token may hold only visible ASCII characters, no spaces (it is sent in an HTTP header)',
    );
}

/** InputError when `host` is reachable from other machines and there is no token to ask for. */
export function checkExposure(host: string, token: string | undefined): void {
  if (token !== undefined) checkToken(token);
  if (!token && !isLoopback(host))
    throw new InputError(
      `serving on '${host}' lets other machines in: set a token in BENCHYARD_TOKEN (${TOKEN_HINT}; --token works too, but other users of this machine see it in ps), or bind 127.0.0.1`,
      { host },
    );
}

export type AuthOutcome =
  | { ok: true }
  /** The right `?token=`: set the cookie and send the browser to the URL without it. */
  | { ok: true; setCookie: string; location: string }
  | { ok: false; status: 401 | 403; message: string };

export class Gate {
  private readonly session: Buffer | undefined;
  private readonly token: Buffer | undefined;

  /** InputError when `host` is reachable from other machines and there is no token. */
  constructor(host: string, token: string | undefined) {
    checkExposure(host, token);
    this.token = token ? digest(token) : undefined;
    // The cookie holds a value derived from the token, not the token itself.
    this.session = token ? createHmac('sha256', token).update('benchyard session').digest() : undefined;
  }

  get required(): boolean {
    return this.token !== undefined;
  }

  check(req: IncomingMessage, url: URL): AuthOutcome {
    if (!this.token || !this.session) {
      const host = hostOf(req.headers.host ?? '');
      return isLoopback(host)
        ? { ok: true }
        : { ok: false, status: 403, message: `requests must name a loopback host, not '${host}'` };
    }
    const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (bearer !== undefined) return this.matches(digest(bearer), this.token);
    const query = url.searchParams.get('token');
    if (query !== null) {
      const outcome = this.matches(digest(query), this.token);
      if (!outcome.ok) return outcome;
      const clean = new URL(url);
      clean.searchParams.delete('token');
      return {
        ok: true,
        setCookie: `${SESSION_COOKIE}=${this.session.toString('hex')}; HttpOnly; SameSite=Strict; Path=/`,
        location: `${clean.pathname}${clean.search}`,
      };
    }
    const cookie = cookieValue(req.headers.cookie ?? '', SESSION_COOKIE);
    if (cookie !== undefined && /^[0-9a-f]{64}$/.test(cookie))
      return this.matches(Buffer.from(cookie, 'hex'), this.session);
    return { ok: false, status: 401, message: 'a token is required (Authorization: Bearer, or ?token=)' };
  }

  private matches(given: Buffer, expected: Buffer): AuthOutcome {
    return given.length === expected.length && timingSafeEqual(given, expected)
      ? { ok: true }
      : { ok: false, status: 401, message: 'wrong token' };
  }
}

/** Fixed-length digests, so comparing them takes the same time whatever was sent. */
function digest(text: string): Buffer {
  return createHmac('sha256', 'benchyard token').update(text).digest();
}

function hostOf(header: string): string {
  const v6 = /^\[([^\]]+)\]/.exec(header);
  if (v6) return v6[1]!;
  return header.replace(/:\d+$/, '');
}

function cookieValue(header: string, name: string): string | undefined {
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

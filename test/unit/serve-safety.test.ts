/**
 * `serve`'s two rules on what users give and what it says (issue 15): a token of at least
 * 16 visible characters, never repeated in a message; error bodies that name no path of
 * the server's machine.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/index.js';
import { checkExposure, checkToken, MIN_TOKEN_LENGTH } from '../../src/serve/auth.js';
import { HIDDEN_PATH, withoutLocalPaths } from '../../src/serve/public-errors.js';

describe('serve tokens', () => {
  it('refuses a token shorter than 16 characters without repeating it', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9_.~+/-]{1,15}$/), (tail) => {
        const token = `Q${tail}`.slice(0, MIN_TOKEN_LENGTH - 1);
        let thrown: unknown;
        try {
          checkToken(token);
        } catch (err) {
          thrown = err;
        }
        expect(thrown).toBeInstanceOf(InputError);
        expect((thrown as Error).message).toMatch(/at least 16/);
        expect((thrown as Error).message).toMatch(/BENCHYARD_TOKEN=\$\(openssl rand -hex 24\)/);
        if (token.length >= 4) expect((thrown as Error).message).not.toContain(token);
      }),
    );
  });

  it('accepts 16 or more visible ASCII characters; refuses spaces and what a header cannot carry', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[\x21-\x7e]{16,80}$/), (token) => {
        expect(() => checkToken(token)).not.toThrow();
      }),
    );
    expect(() => checkToken('a'.repeat(8) + ' ' + 'b'.repeat(8))).toThrow(/visible ASCII/);
    expect(() => checkToken('päßwörd-päßwörd-päßwörd')).toThrow(/visible ASCII/);
    expect(() => checkToken('')).toThrow(/empty/);
  });

  it('a reachable address without a token: the message points to BENCHYARD_TOKEN and says why not --token', () => {
    expect(() => checkExposure('0.0.0.0', undefined)).toThrow(/BENCHYARD_TOKEN .*see it in ps/);
    expect(() => checkExposure('127.0.0.1', undefined)).not.toThrow();
    expect(() => checkExposure('127.0.0.1', 'short')).toThrow(/at least 16/);
  });
});

describe('error bodies name no local path', () => {
  const segment = fc.stringMatching(/^[A-Za-z0-9._@+-]{1,12}$/);
  const absolute = fc.array(segment, { minLength: 1, maxLength: 6 }).map((s) => `/${s.join('/')}`);
  const around = fc.constantFrom(
    (p: string) => `no runs in '${p}'`,
    (p: string) => `cannot open ${p}: permission denied`,
    (p: string) => `opening the store ${p}/benchyard.db failed (x)`,
    (p: string) => `missing (${p})`,
    (p: string) => `file=${p}, again "${p}"`,
    (p: string) => `${p}`,
    (p: string) => `home: ~${p}`,
  );

  it('hides any absolute or home-relative path, wherever it stands', () => {
    fc.assert(
      fc.property(absolute, around, (p, wrap) => {
        const out = withoutLocalPaths(wrap(p));
        expect(out).not.toContain(p);
        expect(out).toContain(HIDDEN_PATH);
      }),
    );
  });

  it('hides the folders it is told of, relative ones too, and leaves text without paths as it was', () => {
    expect(withoutLocalPaths("cannot open the pools: '.benchyard' is not a folder", ['.benchyard'])).toBe(
      "cannot open the pools: '<path>' is not a folder",
    );
    expect(withoutLocalPaths('a/b /srv/state/x', ['/srv/state'])).toBe('a/b <path>/x');
    fc.assert(
      fc.property(
        fc.string().filter((t) => !t.includes('/')),
        (text) => {
          expect(withoutLocalPaths(text)).toBe(text);
        },
      ),
    );
    for (const text of ["--by 'colour': expected one of target, param:<name>", '3 / 8 done', '12 op/s'])
      expect(withoutLocalPaths(text)).toBe(text);
  });
});

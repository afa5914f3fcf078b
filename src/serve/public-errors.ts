/**
 * What an error body may say: what went wrong, never where on this machine. Messages
 * thrown from below (the store, the pools, the comparison) are written for the terminal,
 * where naming the state folder helps; over HTTP a path tells a caller how the server's
 * machine is laid out. The folders the server knows are replaced by name, and anything
 * else that reads as an absolute or home-relative path as well.
 */

export const HIDDEN_PATH = '<path>';

/** An absolute (`/a/b`) or home-relative (`~/a`) path, after a start, space, quote or bracket. */
const PATH_LIKE = /(^|[\s'"`(=[,:])(~?\/[^\s'"`),;\]]+)/g;

/** `text` with every local path in it replaced by `<path>`. */
export function withoutLocalPaths(text: string, known: readonly string[] = []): string {
  let out = text;
  // Longest first, so a folder inside another is not left half-replaced.
  for (const p of [...new Set(known)].filter((k) => k.length > 1).sort((a, b) => b.length - a.length))
    out = out.split(p).join(HIDDEN_PATH);
  return out.replace(PATH_LIKE, (_m, before: string) => `${before}${HIDDEN_PATH}`);
}

/** Schema pieces shared by the matrix and benchmark definitions. */
import { z } from 'zod';
import { parseDuration } from '../core/index.js';

export const NAME = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'must be 1-63 lowercase letters, digits, ".", "_" or "-"');

export const duration = (min: number, max: number) =>
  z.union([z.string(), z.number()]).transform((v, ctx) => {
    const ms = parseDuration(v);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `'${v}' is not a duration (e.g. 500ms, 30s, 15m, 2h)` });
      return z.NEVER;
    }
    if (ms < min || ms > max) {
      ctx.addIssue({ code: 'custom', message: `duration '${v}' is out of range (${min}ms to ${max}ms)` });
      return z.NEVER;
    }
    return ms;
  });

const BYTE_UNITS = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, KB: 1e3, MB: 1e6, GB: 1e9 } as const;

/** A size as users write it: `256KiB`, `64MiB`, `1GB`, or a bare number of bytes. */
export const byteSize = (min: number, max: number) =>
  z.union([z.string(), z.number()]).transform((v, ctx) => {
    const m = /^(\d+(?:\.\d+)?)\s*(B|KiB|MiB|GiB|KB|MB|GB)?$/.exec(String(v).trim());
    const bytes = m ? Math.round(Number(m[1]) * BYTE_UNITS[(m[2] ?? 'B') as keyof typeof BYTE_UNITS]) : NaN;
    if (!Number.isFinite(bytes)) {
      ctx.addIssue({ code: 'custom', message: `'${v}' is not a size (e.g. 256KiB, 64MiB, 1GiB)` });
      return z.NEVER;
    }
    if (bytes < min || bytes > max) {
      ctx.addIssue({ code: 'custom', message: `size '${v}' is out of range (${min} to ${max} bytes)` });
      return z.NEVER;
    }
    return bytes;
  });

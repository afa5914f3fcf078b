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

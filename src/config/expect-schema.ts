/**
 * `expect:` on a matrix entry or a target: reference values a score must stay near, as
 * ReFrame's performance references (`reference = {'sys:part': {'perf': (ref, lower, upper, unit)}}`,
 * lower ≤ 0 ≤ upper, relative to the reference) — here the bounds are written as
 * percentages of `ref` so nobody wonders whether `-0.05` means 5 % or 0.05 %.
 */
import { z } from 'zod';
import { NAME } from './common-schema.js';

/** Where an expectation applies and what it accepts; bounds in % of |ref| (undefined: unbounded). */
export interface Expectation {
  score: string;
  ref: number;
  lowerPct?: number;
  upperPct?: number;
  /** The entry it was given on (absent: given on a target). */
  entry?: string;
  /** The target it applies on (absent on an entry: all of the entry's targets). */
  target?: string;
}

const PERCENT = /^([+-]?\d+(?:\.\d+)?)\s*%$/;

const bound = (which: 'lower' | 'upper') =>
  z
    .union([z.string(), z.number(), z.null()])
    .transform((v, ctx) => {
      if (v === null) return undefined;
      const m = typeof v === 'string' ? PERCENT.exec(v.trim()) : null;
      if (!m) {
        const example = which === 'lower' ? '-5%' : '+10%';
        ctx.addIssue({
          code: 'custom',
          message:
            typeof v === 'number'
              ? `${which}: ${v} is ambiguous: write it as a percentage of ref, e.g. ${example} (ReFrame's ${which === 'lower' ? '-0.05' : '0.1'})`
              : `${which}: '${v}' is not a percentage of ref (e.g. ${example}; null: no bound)`,
        });
        return z.NEVER;
      }
      const pct = Number(m[1]);
      if (which === 'lower' ? pct > 0 : pct < 0) {
        ctx.addIssue({
          code: 'custom',
          message: `${which}: ${v} is on the wrong side of ref: ${which === 'lower' ? 'lower ≤ 0% (e.g. -5%)' : 'upper ≥ 0% (e.g. +10%)'}`,
        });
        return z.NEVER;
      }
      return pct;
    })
    .describe(
      `A percentage of |ref|, e.g. ${which === 'lower' ? '-5%' : '+10%'}; null or absent: no ${which} bound`,
    );

const fields = {
  score: z.string().min(1).describe("A score of the entry's benchmark"),
  ref: z
    .number()
    .refine(Number.isFinite, 'ref must be a finite number')
    .describe('The reference value, in the score’s unit'),
  lower: bound('lower').optional(),
  upper: bound('upper').optional(),
};

const atLeastOneBound = (e: { lower?: number | undefined; upper?: number | undefined }) =>
  e.lower !== undefined || e.upper !== undefined;
const NO_BOUND = { message: 'an expectation needs a lower and/or an upper bound (e.g. lower: -5%)' };

const oneOrMany = <T extends z.ZodType>(one: T) =>
  z.union([one, z.array(one).min(1)]).transform((v) => (Array.isArray(v) ? v : [v]) as z.output<T>[]);

/** `expect:` on a matrix entry: may name one of the entry's targets. */
export const entryExpect = oneOrMany(
  z
    .strictObject({
      ...fields,
      target: NAME.optional().describe("Only on this target (default: all of the entry's)"),
    })
    .refine(atLeastOneBound, NO_BOUND),
).describe(
  'Reference values a score must stay within, as ReFrame does: { score, ref, lower: -5%, upper: +10% } (or a list); a repetition outside fails its cell (exit 1)',
);

/** `expect:` on a target: applies to every cell on it whose benchmark has the score. */
export const targetExpect = oneOrMany(z.strictObject(fields).refine(atLeastOneBound, NO_BOUND)).describe(
  'Reference values for the cells on this target whose benchmark has the score: { score, ref, lower: -5%, upper: +10% } (or a list); an entry’s own expectation for the score wins',
);

type Parsed = {
  score: string;
  ref: number;
  lower?: number | undefined;
  upper?: number | undefined;
  target?: string | undefined;
};

/** The matrix's expectations, entries' first, then targets'. */
export function expectationsOf(doc: {
  targets: readonly { name: string; expect?: readonly Parsed[] | undefined }[];
  entries: readonly { name: string; expect?: readonly Parsed[] | undefined }[];
}): Expectation[] {
  const one = (e: Parsed, where: { entry?: string; target?: string }): Expectation => ({
    score: e.score,
    ref: e.ref,
    ...(e.lower !== undefined ? { lowerPct: e.lower } : {}),
    ...(e.upper !== undefined ? { upperPct: e.upper } : {}),
    ...where,
  });
  return [
    ...doc.entries.flatMap((en) =>
      (en.expect ?? []).map((e) =>
        one(e, { entry: en.name, ...(e.target !== undefined ? { target: e.target } : {}) }),
      ),
    ),
    ...doc.targets.flatMap((t) => (t.expect ?? []).map((e) => one(e, { target: t.name }))),
  ];
}

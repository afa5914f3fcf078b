/**
 * What the fuzz draws from: values and keys that have broken parsers, lookups and terminals
 * before, YAML text typed as it is, and the operations of `mutations.ts` with their weights.
 */
import fc from 'fast-check';
import type { Op, Value } from './mutations.js';

/** Strings that have broken parsers, lookups or terminals before. */
const NASTY = [
  'constructor',
  '__proto__',
  'toString',
  'hasOwnProperty',
  '',
  ' ',
  'a\nb',
  '\u001b[31mred\u001b[0m',
  '\u001b]0;title\u0007',
  '\u0000',
  '\r',
  '\u202eevil',
  '\ud800',
  '{{constructor}}',
  '{{__proto__}}',
  '{{threads}}',
  "$['(process.exit(7))']",
  '(a+)+$',
  '/.',
  '/dev/sda',
  '/',
  '../../etc',
  '~',
  'x'.repeat(5000),
  '1e309',
  'NaN',
  '2024-01-01',
  'null',
  'true',
  '0x10',
];

/** YAML text put into the document as it is: what a person could type after a key. */
const RAW = [
  '1e309',
  '-1e309',
  '1e-400',
  '.nan',
  '.inf',
  '-.inf',
  '-0',
  '0x7fffffffffffffffff',
  '0o777',
  '9'.repeat(400),
  '123456789012345678901234567890',
  '!!binary aGVsbG8=',
  '!!set { a, b }',
  '!!omap [ a: 1 ]',
  '!!timestamp 2001-12-14',
  '!custom x',
  '!!int "12"',
  '!!float x',
  '[]',
  '{}',
  '~',
  '"\\0\\x1b\\u202e"',
  '|\n  text\n  block',
  '? [a, b]\n  : c',
];

const KEYS = [
  ...NASTY.slice(0, 16),
  'name',
  'benchmark',
  'params',
  'targets',
  'provider',
  'inputs',
  'requires',
  'type',
  'default',
  'command',
  'image',
  'scores',
];

const INSERTS = [
  ':',
  '- ',
  '{',
  '[',
  ']',
  '}',
  '&a ',
  '*a',
  '*a ',
  '&a *a',
  '!!',
  '%YAML 1.1\n',
  '---\n',
  '...\n',
  '\t',
  '\u0000',
  '\u00ff',
  '#',
  '"',
  "'",
  '|',
  '>',
  '? ',
  '@',
  '`',
  '\r\n',
  '\ufeff',
  '<<: *a\n',
  ': :',
  '\n  -',
  '&',
  '*',
];

export const valueArb: fc.Arbitrary<Value> = fc.oneof(
  fc.record({ data: fc.constantFrom<unknown>(...NASTY) }),
  fc.record({ raw: fc.constantFrom(...RAW) }),
  fc.record({ data: fc.string({ unit: 'binary', maxLength: 40 }) }),
  fc.record({ data: fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null)) }),
  fc.record({ data: fc.constantFrom(-1, 0, 1, 2 ** 31, 2 ** 53 + 1, Number.MAX_VALUE, 1e21, 0.1) }),
  fc.record({
    data: fc.array(fc.oneof(fc.integer({ min: 0, max: 100 }), fc.string({ maxLength: 5 })), { maxLength: 5 }),
  }),
  fc.record({
    data: fc.dictionary(fc.constantFrom(...KEYS), fc.oneof(fc.integer(), fc.string({ maxLength: 5 })), {
      maxKeys: 3,
    }),
  }),
);

export const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant('drop' as const), at: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('duplicate' as const), at: fc.nat() }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('retype' as const), at: fc.nat(), value: valueArb }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('rename' as const),
      at: fc.nat(),
      key: fc.oneof(fc.constantFrom(...KEYS), fc.string({ unit: 'binary', maxLength: 12 })),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('alias' as const), from: fc.nat(), to: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('dangling-alias' as const), at: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('nest' as const),
      at: fc.nat(),
      depth: fc.oneof(fc.integer({ min: 1, max: 70 }), fc.constantFrom(200, 2000)),
      map: fc.boolean(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('axis' as const),
      at: fc.nat(),
      length: fc.oneof(fc.integer({ min: 0, max: 30 }), fc.constantFrom(1000, 10_000, 50_000)),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('bomb' as const),
      levels: fc.integer({ min: 1, max: 12 }),
      width: fc.integer({ min: 2, max: 12 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('insert' as const),
      at: fc.nat(),
      text: fc.oneof(fc.constantFrom(...INSERTS), fc.string({ unit: 'binary-ascii', maxLength: 8 })),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('bytes' as const),
      at: fc.nat(),
      bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 4 }),
    }),
  },
);

/** A seed (by index into the caller's list) and one to four operations on it. */
export const caseArb = (seeds: number) =>
  fc.record({ seed: fc.nat({ max: seeds - 1 }), ops: fc.array(opArb, { minLength: 1, maxLength: 4 }) });

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BulkBody } from '../../src/store/bulk-body.js';

/** Serialized JSON: never empty, never a raw newline; anything else (any Unicode, lone surrogates) may appear. */
const line = fc.string({ unit: 'binary', minLength: 1, maxLength: 200 }).map((s) => s.replace(/\n/g, ' '));
const ops = fc.array(fc.tuple(line, line), { maxLength: 40 });

function build(pairs: readonly (readonly [string, string])[]): BulkBody {
  const body = new BulkBody(8); // tiny, so that it grows many times
  for (const [action, doc] of pairs) {
    body.line(action);
    body.line(doc);
  }
  return body;
}

/** What the sink sent before bodies were encoded as they grew: lines joined, UTF-8. */
const joined = (pairs: readonly (readonly [string, string])[]) =>
  pairs.length === 0 ? '' : pairs.flat().join('\n') + '\n';

describe('BulkBody', () => {
  it('holds the UTF-8 of the lines joined by newlines, each line ending in one', () => {
    fc.assert(
      fc.property(ops, (pairs) => {
        const body = build(pairs);
        expect(body.ops).toBe(pairs.length);
        expect(Buffer.compare(body.bytes(), Buffer.from(joined(pairs), 'utf8'))).toBe(0);
        expect(body.text()).toBe(Buffer.from(joined(pairs), 'utf8').toString('utf8'));
      }),
    );
  });

  it('picks the operations asked for again, in order, with their action lines', () => {
    fc.assert(
      fc.property(
        ops.chain((pairs) => fc.tuple(fc.constant(pairs), fc.subarray(pairs.map((_, i) => i)))),
        ([pairs, picked]) => {
          const again = build(pairs).pick(picked);
          const expected = picked.map((i) => pairs[i]!);
          expect(again.ops).toBe(picked.length);
          expect(Buffer.compare(again.bytes(), Buffer.from(joined(expected), 'utf8'))).toBe(0);
          // A picked body can be picked from again (a second per-item 429).
          const half = picked.map((_, k) => k).filter((k) => k % 2 === 0);
          expect(again.pick(half).text()).toBe(
            Buffer.from(joined(half.map((k) => expected[k]!)), 'utf8').toString('utf8'),
          );
        },
      ),
    );
  });

  it('reads back what the spool keeps, with or without the last newline', () => {
    fc.assert(
      fc.property(
        ops.filter((p) => p.length > 0),
        (pairs) => {
          const text = build(pairs).text();
          for (const t of [text, text.slice(0, -1)]) {
            const back = BulkBody.fromText(t);
            expect(back.ops).toBe(pairs.length);
            expect(back.text()).toBe(text);
            expect(back.pick([pairs.length - 1]).text()).toBe(build([pairs.at(-1)!]).text());
          }
        },
      ),
    );
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { metricLineFields } from '../../src/core/index.js';
import { AppLineFeed, parseAppLine } from '../../src/metrics/index.js';

/** Waits for the feed's scheduled flush (it runs after the current chunk's lines). */
const nextTurn = () => new Promise((r) => setImmediate(r));

describe('@benchyard metric lines', () => {
  it('reads the documented fields, tolerating CR line ends and extra fields', () => {
    expect(metricLineFields('@benchyard metric=rps value=12.5 unit=req/s\r')).toEqual({
      metric: 'rps',
      value: '12.5',
      unit: 'req/s',
    });
    expect(metricLineFields('@benchyard  metric=a value=1 note=x=y')).toEqual({
      metric: 'a',
      value: '1',
      note: 'x=y',
    });
    expect(metricLineFields('@benchyardmetric=a value=1')).toBeUndefined();
    expect(metricLineFields('x @benchyard metric=a value=1')).toBeUndefined();
  });

  it('keeps `__proto__` and `constructor` as plain fields', () => {
    const f = metricLineFields('@benchyard __proto__=x constructor=y metric=m value=1')!;
    expect(Object.getPrototypeOf(f)).toBe(Object.prototype);
    expect(f.constructor).toBe('y');
    expect(parseAppLine('@benchyard __proto__=x metric=m value=1', 0)).toMatchObject({ name: 'm', value: 1 });
  });

  it('reads any line in time linear in its length (no backtracking on a long word)', () => {
    // The pattern this replaced took 0.37 s for these 20 lines, and 3.8 s for one line of 64 KiB.
    const t0 = performance.now();
    for (let i = 0; i < 20; i++) metricLineFields(`@benchyard ${'a'.repeat(4000)}`);
    for (let i = 0; i < 20; i++) metricLineFields(`@benchyard ${'a'.repeat(65_536)}`);
    expect(metricLineFields(`@benchyard metric=x value=${'9'.repeat(5000)}`)).toBeUndefined(); // too long a line
    expect(performance.now() - t0).toBeLessThan(200);
  });

  it('never throws and yields only finite samples, whatever the line (control chars, huge numbers)', () => {
    const token = fc.oneof(
      fc.constantFrom(
        'metric=x',
        'value=1e309',
        'value=-0',
        'value=0x10',
        'unit=\u001b[31m',
        'value=NaN',
        'metric=a.b-c',
      ),
      fc.string({ unit: 'binary', maxLength: 30 }),
    );
    fc.assert(
      fc.property(fc.array(token, { maxLength: 8 }), (tokens) => {
        const r = parseAppLine(`@benchyard ${tokens.join(' ')}`, 5);
        if (r) {
          expect(Number.isFinite(r.value)).toBe(true);
          expect(r.name).toMatch(/^[A-Za-z0-9_.-]{1,128}$/);
          expect(r.unit.length).toBeLessThanOrEqual(32);
        }
      }),
      { numRuns: 1000, seed: 15 },
    );
  });
});

describe('AppLineFeed', () => {
  it("hands a chunk's metric lines on in one batch, skipping other output", async () => {
    const batches: (readonly string[])[] = [];
    const feed = new AppLineFeed((b) => batches.push(b));
    for (const l of ['@benchyard metric=a value=1', 'noise', '@benchyard metric=a value=2']) feed.line(l);
    expect(batches).toEqual([]); // not line by line
    await nextTurn();
    feed.line('@benchyard metric=a value=3');
    feed.flush();
    expect(batches).toEqual([
      ['@benchyard metric=a value=1', '@benchyard metric=a value=2'],
      ['@benchyard metric=a value=3'],
    ]);
  });

  it('keeps at most the cap per repetition, then counts and drops', async () => {
    const kept: string[] = [];
    const feed = new AppLineFeed((b) => kept.push(...b), 1000);
    for (let i = 0; i < 25_000; i++) feed.line(`@benchyard metric=flood value=${i}`);
    await nextTurn();
    expect(kept).toHaveLength(1000);
    expect(kept.at(-1)).toBe('@benchyard metric=flood value=999');
    expect({ kept: feed.kept, dropped: feed.dropped }).toEqual({ kept: 1000, dropped: 24_000 });
  });
});

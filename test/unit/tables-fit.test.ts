/** Tables fitted to a terminal's width (src/report/fit.ts): never wider, nothing lost. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_WIDTH,
  MIN_WIDTH,
  displayWidth,
  escapeControlKeepLines,
  fitTable,
  terminalWidth,
  wrapText,
} from '../../src/report/index.js';

const nonSpace = (s: string) => s.replace(/\s+/g, '');

/**
 * Cell text as users write it, and worse: ASCII, accents, combining marks, CJK, emoji,
 * newlines, control characters, long words. The box-drawing characters are left out only
 * so the test can read the table back by its rules.
 */
const text = fc
  .array(
    fc.oneof(
      { weight: 6, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 12 }) },
      { weight: 2, arbitrary: fc.constantFrom(' ', '  ', '\n', 'threads=4', 'max_prime=10000') },
      { weight: 1, arbitrary: fc.constantFrom('größe', 'e\u0301', '表格', '🚀', '👩‍👩‍👧', '\t', '\u001b[2J') },
      { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 6 }) },
      { weight: 1, arbitrary: fc.constant('sha256:'.padEnd(71, '0123456789abcdef')) },
    ),
    { maxLength: 8 },
  )
  .map((parts) => parts.join('').replace(/[│─┌┐└┘├┤┬┴┼]/g, '|'));
const header = fc.stringMatching(/^[a-z][a-z %]{0,5}$/);

const tables = fc.integer({ min: 1, max: 9 }).chain((columns) =>
  fc.record({
    head: fc.array(header, { minLength: columns, maxLength: columns }),
    rows: fc.array(fc.array(text, { minLength: columns, maxLength: columns }), { maxLength: 6 }),
  }),
);

/** The table read back: its head and rows of cells, each cell's lines joined. */
function readBack(out: string, columns: number, count: number): { head: string[]; rows: string[][] } {
  const lines = out.split('\n');
  if (lines[0]!.startsWith('┌')) {
    const rules = lines.filter((l) => l.startsWith('├')).length;
    const groups: string[][][] = [];
    let current: string[][] | undefined;
    let seenRules = 0;
    for (const line of lines.slice(1, -1)) {
      if (line.startsWith('├')) {
        seenRules++;
        current = undefined;
        continue;
      }
      const cells = line.slice(1, -1).split('│');
      expect(cells).toHaveLength(columns);
      // Without rules between rows (and more than one row), every body row is one line.
      if (!current || (seenRules > 0 && rules === 1 && count > 1)) groups.push((current = []));
      current.push(cells.map((c) => c.slice(1, -1)));
    }
    const joined = groups.map((g) => g[0]!.map((_, i) => g.map((l) => l[i]).join('\n')));
    return { head: joined[0]!, rows: joined.slice(1) };
  }
  // Blocks: `─ k of n ───` then `label │ value` lines; a new field where the label is not blank.
  const rows: string[][] = [];
  const labels: string[] = [];
  for (const line of lines) {
    if (line.startsWith('─ ')) {
      rows.push([]);
      continue;
    }
    const at = line.indexOf(' │');
    const [label, value] = [line.slice(0, at).trim(), line.slice(at + 3)];
    const row = rows.at(-1)!;
    if (label !== '') {
      row.push(value);
      labels.push(label);
    } else row[row.length - 1] += `\n${value}`;
  }
  return { head: labels, rows };
}

describe('tables fit the terminal', () => {
  it('any table fits any width from the minimum up, and every cell reads back whole', () => {
    fc.assert(
      fc.property(tables, fc.integer({ min: MIN_WIDTH, max: 250 }), ({ head, rows }, width) => {
        const out = fitTable(head, rows, { width });
        for (const line of out.split('\n')) expect(displayWidth(line)).toBeLessThanOrEqual(width);
        if (rows.length === 0) return;
        const back = readBack(out, head.length, rows.length);
        expect(back.rows).toHaveLength(rows.length);
        if (out.startsWith('┌')) {
          expect(back.head.map(nonSpace)).toEqual(head.map(nonSpace));
          back.rows.forEach((row, r) =>
            expect(row.map(nonSpace)).toEqual(rows[r]!.map((c) => nonSpace(escapeControlKeepLines(c)))),
          );
        } else
          back.rows.forEach((row, r) => {
            // A block leaves out the empty cells: what it shows is every other cell, in order.
            const shown = rows[r]!.map(escapeControlKeepLines).filter((c) => c.trim() !== '');
            expect(row.map(nonSpace)).toEqual(shown.map(nonSpace));
          });
      }),
      { seed: 16, numRuns: 400 },
    );
  });

  it('without a width (--wide) nothing wraps: each cell line is on one table line', () => {
    fc.assert(
      fc.property(tables, ({ head, rows }) => {
        const out = fitTable(head, rows);
        for (const row of rows)
          for (const cell of row)
            for (const line of escapeControlKeepLines(cell).split('\n'))
              expect(out).toContain(line.trimEnd());
      }),
      { seed: 16, numRuns: 200 },
    );
  });

  it('wraps params inside their column at spaces, keeps short columns and whole words', () => {
    const params = 'threads=1 time=2 block_size=1M total_size=100T operation=read access_mode=seq';
    const out = fitTable(
      ['cell', 'benchmark', 'params', 'passed'],
      [['3c679ce90b8a', 'sysbench-memory', params, '3/3']],
      { width: 64 },
    );
    const lines = out.split('\n');
    expect(Math.max(...lines.map(displayWidth))).toBe(64);
    expect(lines[1]).toMatch(/^│ cell {9}│ benchmark {7}│ params +│ passed │$/);
    for (const word of params.split(' ')) expect(out).toContain(word);
    expect(lines.filter((l) => l.includes('3c679ce90b8a'))).toHaveLength(1);
  });

  it('a grid that would break words becomes one block per row', () => {
    const head = [
      'cell',
      'score',
      'group',
      'n',
      'median',
      'p95',
      'CoV %',
      'Δ % vs baseline',
      '95% CI',
      'verdict',
    ];
    const row = [
      'sysbench-cpu time=3 max_prime=10000 @here',
      'events_per_second (events/s, higher is better)',
      '2',
      '3',
      '5535',
      '5645',
      '2.59',
      '+28.38',
      '[+5.05, +50.29]',
      'no significant difference',
    ];
    const out = fitTable(head, [row, row], { width: 80 });
    expect(out.split('\n')[0]).toMatch(/^─ 1 of 2 ─+$/);
    expect(out).toMatch(/^Δ % vs baseline │ \+28\.38$/m);
    expect(out).toMatch(/^verdict {9}│ no significant difference$/m);
    // Wide enough, the same rows are a grid again.
    expect(fitTable(head, [row, row], { width: 200 })).toMatch(/^┌/);
  });

  it('rules between rows only when a row takes several lines', () => {
    const single = fitTable(
      ['a', 'b'],
      [
        ['1', '2'],
        ['3', '4'],
      ],
      { width: 40 },
    );
    expect(single.split('\n').filter((l) => l.startsWith('├'))).toHaveLength(1);
    const multi = fitTable(
      ['a', 'b'],
      [
        ['1\n1', '2'],
        ['3', '4'],
      ],
      { width: 40 },
    );
    expect(multi.split('\n').filter((l) => l.startsWith('├'))).toHaveLength(2);
  });
});

describe('wrapText', () => {
  it('lines fit, words that fit stay whole, and only spaces at breaks are dropped', () => {
    fc.assert(
      fc.property(text, fc.integer({ min: 2, max: 40 }), (raw, width) => {
        const t = escapeControlKeepLines(raw);
        const lines = wrapText(t, width);
        for (const line of lines) expect(displayWidth(line)).toBeLessThanOrEqual(width);
        expect(nonSpace(lines.join(''))).toBe(nonSpace(t));
        for (const word of t.split(/[ \n]+/))
          if (displayWidth(word) <= width) expect(lines.some((l) => l.includes(word))).toBe(true);
      }),
      { seed: 16, numRuns: 500 },
    );
  });
});

describe('terminalWidth', () => {
  it("a terminal's columns, else COLUMNS, else the default for logs", () => {
    expect(terminalWidth({ isTTY: true, columns: 93 }, { COLUMNS: '200' })).toBe(93);
    expect(terminalWidth({ isTTY: false }, { COLUMNS: '200' })).toBe(200);
    expect(terminalWidth({}, {})).toBe(DEFAULT_WIDTH);
    expect(terminalWidth({}, { COLUMNS: 'wide' })).toBe(DEFAULT_WIDTH);
    expect(terminalWidth({}, { COLUMNS: '0' })).toBe(DEFAULT_WIDTH);
    expect(terminalWidth({ isTTY: true, columns: 0 }, {})).toBe(DEFAULT_WIDTH);
  });
});

describe('long tables', () => {
  it('200,000 rows (every sample of a long run) lay out without running out of stack', () => {
    const rows = Array.from({ length: 200_000 }, (_, i) => [String(i), 'host.cpu.usage.pct']);
    const out = fitTable(['n', 'metric'], rows, { width: 80 });
    expect(out.split('\n')).toHaveLength(200_004);
  });
});

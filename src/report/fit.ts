/**
 * Tables that fit a terminal: every table of the CLI is laid out here. Long text (params,
 * scores, failure reasons) wraps inside its column instead of widening the table; when the
 * columns cannot all keep their words whole, each row becomes a block of `column │ value`
 * lines (as psql's expanded display) rather than a grid shredded into one-letter columns.
 * Nothing is cut: every character of every cell is printed, only the line breaks move.
 */
import stringWidth from 'string-width';
import { escapeControlKeepLines } from './terminal-text.js';

/**
 * The width tables are fitted to when the output is not a terminal and `COLUMNS` is not
 * set: CI logs (Jenkins, GitHub Actions, GitLab) are shown in browser pages that soft-wrap
 * longer lines, which breaks a table's rules apart; 120 is what those pages show whole at
 * common window widths, and what the comparison's numeric columns need unwrapped.
 */
export const DEFAULT_WIDTH = 120;
/** Below this a table is not fitted (its blocks would be a character wide). */
export const MIN_WIDTH = 20;
/** Narrowest column text: a double-width (CJK) character fits. */
const MIN_COLUMN = 2;
/** Pieces of words up to this long stay whole in a grid; longer ones (digests) may break. */
const KEEP_WORD = 24;
/**
 * Where a word may break when it does not fit: after `.`, `/`, `_`, `:`, `=`, `@`, `,` or
 * `-` followed by a letter (`collector.` `sample.` `latency`, `max_` `prime=10000`), never
 * inside a number (`0.0291`, `1.6e-7`).
 */
const BREAK = /(?<=[./_:=@,-])(?=\p{L})/u;

export interface FitOptions {
  /** Columns the table may take, borders included; `undefined`: no limit (`--wide`). */
  width?: number | undefined;
}

/**
 * The width to fit tables to: the terminal's when stdout is one, else `COLUMNS` (set it in
 * CI to use a wider log), else {@link DEFAULT_WIDTH}.
 */
export function terminalWidth(
  out: { isTTY?: boolean; columns?: number },
  env: Readonly<Record<string, string | undefined>>,
): number {
  if (out.isTTY && out.columns && out.columns > 0) return out.columns;
  const columns = Number(env.COLUMNS);
  return Number.isInteger(columns) && columns > 0 ? columns : DEFAULT_WIDTH;
}

/** Columns a text takes on a terminal (double-width characters count 2, combining marks 0). */
export function displayWidth(text: string): number {
  return stringWidth(text);
}

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/**
 * `text` broken into lines of at most `width` columns: at spaces where it can; a word wider
 * than a line at its {@link BREAK} points, and inside a piece only where the piece alone is
 * wider. Existing line breaks stay; the spaces a break replaces are the only characters dropped.
 */
export function wrapText(text: string, width: number): string[] {
  const w = Math.max(1, width);
  return text.split('\n').flatMap((paragraph) => wrapParagraph(paragraph, w));
}

function wrapParagraph(paragraph: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  let lineWidth = 0;
  // Tokens alternate: word, spaces, word, …
  const tokens = paragraph.split(/( +)/);
  for (let i = 0; i < tokens.length; i += 2) {
    const word = tokens[i]!;
    const gap = i > 0 ? tokens[i - 1]! : '';
    // A paragraph's trailing spaces: nothing to place, no line to start for them.
    if (word === '' && i > 0) break;
    const wordWidth = displayWidth(word);
    const gapWidth = line === '' && lines.length > 0 ? 0 : gap.length;
    if (lineWidth + gapWidth + wordWidth <= width) {
      line += (gapWidth ? gap : '') + word;
      lineWidth += gapWidth + wordWidth;
      continue;
    }
    if (line !== '') lines.push(line);
    [line, lineWidth] = ['', 0];
    const pieces = wordWidth <= width ? [word] : word.split(BREAK);
    for (const piece of pieces) {
      const pw = displayWidth(piece);
      if (lineWidth + pw > width && line !== '') {
        lines.push(line);
        [line, lineWidth] = ['', 0];
      }
      if (pw <= width) {
        line += piece;
        lineWidth += pw;
        continue;
      }
      for (const { segment } of graphemes.segment(piece)) {
        const sw = displayWidth(segment);
        if (lineWidth + sw > width && line !== '') {
          lines.push(line);
          [line, lineWidth] = ['', 0];
        }
        line += segment;
        lineWidth += sw;
      }
    }
  }
  lines.push(line);
  return lines;
}

/**
 * A table of text as box-drawing lines, fitted to `opts.width`. Cell text is escaped here
 * too (newlines kept), so no cell can move the cursor or break the layout.
 */
export function fitTable(
  head: readonly string[],
  rows: readonly (readonly string[])[],
  opts: FitOptions = {},
): string {
  const clean = (cells: readonly string[]) => head.map((_, i) => escapeControlKeepLines(cells[i] ?? ''));
  const h = clean(head);
  const body = rows.map(clean);
  const widths = columnWidths([h, ...body], opts.width);
  return widths ? grid(h, body, widths) : records(h, body, opts.width!);
}

/**
 * Text widths of the columns, or `undefined` when a grid would have to break words that a
 * block per row keeps whole. Short columns keep their width; the longest shrink evenly.
 */
export function columnWidths(
  table: readonly (readonly string[])[],
  width: number | undefined,
): number[] | undefined {
  const n = table[0]?.length ?? 0;
  if (n === 0) return [];
  // Loops, not Math.max(...): `results --samples --all` has more rows than a call has arguments.
  const widest = (rows: readonly (readonly string[])[], i: number) => {
    let w = 1;
    for (const r of rows) for (const line of r[i]!.split('\n')) w = Math.max(w, displayWidth(line));
    return w;
  };
  const natural = Array.from({ length: n }, (_, i) => widest(table, i));
  if (width === undefined || width < MIN_WIDTH) return natural;
  const room = width - (3 * n + 1);
  if (sum(natural) <= room) return natural;
  // First the headings wrap (`Δ % vs` / `baseline` over `+28.38`), then the text.
  const body = natural.map((nat, i) =>
    Math.min(nat, Math.max(widest(table.slice(1), i), longestPiece(table.slice(0, 1), i))),
  );
  if (sum(body) <= room) return waterFill(body, natural, room);
  const floor = natural.map((nat, i) =>
    Math.min(nat, Math.max(MIN_COLUMN, Math.min(KEEP_WORD, longestPiece(table, i)))),
  );
  return sum(floor) <= room ? waterFill(floor, body, room) : undefined;
}

/** Each column at `clamp(level, lo, hi)`, the level as high as `room` allows; the rest 1 by 1. */
function waterFill(lo: readonly number[], hi: readonly number[], room: number): number[] {
  let [low, high] = [0, Math.max(...hi)];
  const at = (level: number) => lo.map((l, i) => Math.min(hi[i]!, Math.max(l, level)));
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (sum(at(mid)) <= room) low = mid;
    else high = mid - 1;
  }
  const widths = at(low);
  let left = room - sum(widths);
  // Fewer than one column each is left (else the level would be higher): the first get it.
  for (let i = 0; left > 0 && i < widths.length; i++)
    if (widths[i]! < hi[i]!) {
      widths[i]!++;
      left--;
    }
  return widths;
}

function grid(head: readonly string[], body: readonly string[][], widths: readonly number[]): string {
  const rule = (l: string, m: string, r: string) => `${l}${widths.map((w) => '─'.repeat(w + 2)).join(m)}${r}`;
  const wrapped = [head, ...body].map((cells) => cells.map((c, i) => wrapText(c, widths[i]!)));
  // Rules between rows only where a row takes several lines: else they only double the length.
  const ruled = wrapped.slice(1).some((cells) => cells.some((lines) => lines.length > 1));
  const out = [rule('┌', '┬', '┐')];
  wrapped.forEach((cells, r) => {
    if (r === 1 || (r > 1 && ruled)) out.push(rule('├', '┼', '┤'));
    const height = Math.max(...cells.map((lines) => lines.length));
    for (let k = 0; k < height; k++)
      out.push(`│${cells.map((lines, i) => ` ${pad(lines[k] ?? '', widths[i]!)} `).join('│')}│`);
  });
  out.push(rule('└', '┴', '┘'));
  return out.join('\n');
}

/** One block per row: `label │ value` lines, values wrapped beside their label. */
function records(head: readonly string[], body: readonly string[][], width: number): string {
  const labelWidth = Math.min(Math.max(...head.map((l) => maxLineWidth(l))), Math.floor(width / 3));
  const valueWidth = width - labelWidth - 3;
  if (body.length === 0) return '(no rows)';
  const out: string[] = [];
  body.forEach((cells, r) => {
    const title = `─ ${r + 1} of ${body.length} `;
    out.push(title + '─'.repeat(Math.max(0, width - displayWidth(title))));
    cells.forEach((cell, i) => {
      if (cell.trim() === '') return;
      const labels = wrapText(head[i]!, labelWidth);
      const values = wrapText(cell, valueWidth);
      for (let k = 0; k < Math.max(labels.length, values.length); k++)
        out.push(`${pad(labels[k] ?? '', labelWidth)} │ ${values[k] ?? ''}`.trimEnd());
    });
  });
  return out.join('\n');
}

function longestPiece(table: readonly (readonly string[])[], column: number): number {
  let longest = 1;
  for (const row of table)
    for (const word of row[column]!.split(/[ \n]+/))
      for (const piece of word.split(BREAK)) longest = Math.max(longest, displayWidth(piece));
  return longest;
}

const maxLineWidth = (text: string) => Math.max(...text.split('\n').map(displayWidth));
const pad = (text: string, width: number) => text + ' '.repeat(Math.max(0, width - displayWidth(text)));
const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

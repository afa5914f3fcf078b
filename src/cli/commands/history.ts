/**
 * `benchyard history`: the change points in the history of each cell and score across the
 * stored passing runs (a tag's, a matrix's, or all), from SQLite or Elasticsearch.
 */
import {
  CHANGE_POINT_METHOD,
  historyCell,
  historyOf,
  type HistoryChange,
  type HistorySeries,
} from '../../analysis/index.js';
import { InputError, type RepetitionResult } from '../../core/index.js';
import { escapeControl } from '../../report/index.js';
import { openReader } from '../compare-input.js';
import type { CliIo } from '../io.js';

export interface HistoryOptions {
  state: string;
  es?: string;
  tag?: string;
  matrix?: string;
  cell?: string[];
  score?: string[];
  last: string;
  all?: boolean;
  json?: boolean;
}

/** How far back runs are listed before the filters pick the newest `--last`. */
const RUNS_SEARCHED = 10_000;

export async function historyCommand(opts: HistoryOptions, io: CliIo): Promise<void> {
  const last = /^\d{1,5}$/.test(opts.last) ? Number(opts.last) : NaN;
  if (!(last >= 2 && last <= RUNS_SEARCHED))
    throw new InputError(`--last '${opts.last}': expected a number of runs from 2 to ${RUNS_SEARCHED}`);
  const reader = openReader(opts);
  try {
    const runs = (await reader.listRuns(RUNS_SEARCHED))
      .filter(
        (r) =>
          r.status === 'passed' &&
          (opts.tag === undefined || (r.tags ?? []).includes(opts.tag)) &&
          (opts.matrix === undefined || r.name === opts.matrix),
      )
      .slice(0, last);
    const results: RepetitionResult[] = [];
    for (const r of runs) results.push(...(await reader.listResults({ runId: r.id })));
    const series = historyOf(runs, results).filter(
      (s) => (!opts.score?.length || opts.score.includes(s.score)) && matchesCell(s, results, opts.cell),
    );
    if (opts.json)
      return io.stdout(
        `${JSON.stringify(
          {
            method: CHANGE_POINT_METHOD,
            runs: [...runs]
              .reverse()
              .map((r) => ({ id: r.id, name: r.name, startedAt: r.startedAt, tags: r.tags ?? [] })),
            series: opts.all ? series : series.filter((s) => s.changePoints.length > 0),
          },
          null,
          2,
        )}\n`,
      );
    io.stdout(render(runs.length, describe(opts), series, opts.all === true));
  } finally {
    await reader.close();
  }
}

function describe(opts: HistoryOptions): string {
  const of = [
    opts.tag !== undefined ? `tagged '${opts.tag}'` : '',
    opts.matrix !== undefined ? `of '${opts.matrix}'` : '',
  ]
    .filter(Boolean)
    .join(' ');
  return `passing runs${of ? ` ${of}` : ''}`;
}

/** `--cell`: a cell id (as stored on its results), or text its name contains. */
function matchesCell(
  s: HistorySeries,
  results: readonly RepetitionResult[],
  wanted: readonly string[] | undefined,
): boolean {
  if (!wanted?.length) return true;
  return wanted.some(
    (w) => s.cell.includes(w) || results.some((r) => r.cellId === w && historyCell(r) === s.cell),
  );
}

function render(runs: number, what: string, series: readonly HistorySeries[], all: boolean): string {
  if (runs === 0) return `history: no ${what} stored yet\n`;
  const changes = series.reduce((a, s) => a + s.changePoints.length, 0);
  const shown = all ? series : series.filter((s) => s.changePoints.length > 0);
  const lines = [
    `history: ${runs} ${what}; ${series.length} cell score(s), ${changes} change point(s)`,
    `method: ${CHANGE_POINT_METHOD}`,
  ];
  for (const s of shown) {
    lines.push(
      '',
      `${escapeControl(s.cell)} · ${escapeControl(s.score)} (${escapeControl(s.unit)}, ${s.direction} is better) · ${s.points.length} runs`,
    );
    if (s.changePoints.length === 0) lines.push('  no change point');
    for (const c of s.changePoints) lines.push(`  ${changeLine(c, s.unit)}`);
  }
  const quiet = series.length - shown.length;
  if (quiet > 0) lines.push('', `${quiet} cell score(s) without a change point (--all lists them)`);
  return `${lines.join('\n')}\n`;
}

function changeLine(c: HistoryChange, unit: string): string {
  const fmt = (x: number) => Number(x.toPrecision(6)).toString();
  const pct = Number.isFinite(c.changePct)
    ? `${c.changePct >= 0 ? '+' : ''}${c.changePct.toFixed(2)}%`
    : 'n/a';
  return [
    c.at.replace('T', ' ').slice(0, 16),
    c.runId,
    `${fmt(c.before.mean)} → ${fmt(c.after.mean)} ${escapeControl(unit)}`,
    pct,
    c.verdict,
    `(${c.before.to - c.before.from} runs before, ${c.after.to - c.after.from} after; p ${c.p.toPrecision(2)})`,
  ].join('  ');
}

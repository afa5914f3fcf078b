/**
 * JUnit XML for CI (Jenkins' junit step): one testcase per cell of a run, or per compared
 * score of a comparison; failures carry the reason, regressions the numbers.
 */
import { create } from 'xmlbuilder2';
import { regressionPct, type Comparison } from '../analysis/index.js';
import type { MatrixCell, RepetitionResult, RunRecord } from '../core/index.js';
import { formatParams } from './summary.js';

interface Case {
  classname: string;
  name: string;
  timeSeconds: number;
  failure?: { type: string; message: string; detail: string };
  skipped?: string;
}

/**
 * ANSI escape sequences as container output carries them: CSI (colours, cursor moves), OSC
 * (window titles, hyperlinks) ended by BEL or ST, and two-character ESC sequences.
 */
// eslint-disable-next-line no-control-regex -- matching escape sequences is the point
const ANSI_ESCAPE = /\u001b(?:\[[0-?]*[ -/]*[@-~]|\][^\u0007\u001b]*(?:\u0007|\u001b\\)|[@-Z\\-_])/g;

/** What XML 1.0 cannot hold, not even as a character reference: C0 controls but tab, LF and CR; U+FFFE, U+FFFF; lone surrogates. */
const NOT_XML_1_0 = /[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu;

/**
 * Text as an XML 1.0 document can carry it (xmlbuilder2 escapes markup but passes control
 * characters through, which makes the whole file unreadable to Jenkins): escape sequences
 * dropped, any other character XML forbids replaced by U+FFFD.
 */
function xmlSafe(text: string): string {
  return text.replace(ANSI_ESCAPE, '').replace(NOT_XML_1_0, '\ufffd');
}

/** Seconds as the schema's time type takes them: digits, a dot, three decimals (never NaN or negative). */
function seconds(s: number): string {
  return nonNegative(s).toFixed(3);
}

function nonNegative(s: number): number {
  return Number.isFinite(s) && s > 0 ? s : 0;
}

function render(suite: string, timestamp: string, cases: readonly Case[]): string {
  const failures = cases.filter((c) => c.failure).length;
  const skipped = cases.filter((c) => c.skipped !== undefined).length;
  const time = seconds(cases.reduce((a, c) => a + nonNegative(c.timeSeconds), 0));
  const root = create({ version: '1.0', encoding: 'UTF-8' }).ele('testsuites', {
    name: 'benchyard',
    tests: cases.length,
    failures,
    errors: 0,
    time,
  });
  const s = root.ele('testsuite', {
    name: xmlSafe(suite),
    tests: cases.length,
    failures,
    errors: 0,
    skipped,
    time,
    timestamp: xmlSafe(timestamp),
  });
  for (const c of cases) {
    const tc = s.ele('testcase', {
      classname: xmlSafe(c.classname),
      name: xmlSafe(c.name),
      time: seconds(c.timeSeconds),
    });
    if (c.failure)
      tc.ele('failure', { type: xmlSafe(c.failure.type), message: xmlSafe(c.failure.message) }).txt(
        xmlSafe(c.failure.detail),
      );
    if (c.skipped !== undefined) tc.ele('skipped', { message: xmlSafe(c.skipped) });
  }
  return root.end({ prettyPrint: true });
}

/**
 * One testcase per cell: it fails when any repetition failed, with every reason. With a
 * gate, one more testcase per compared score, failing on a regression.
 */
export function runJunit(
  run: RunRecord,
  cells: readonly MatrixCell[],
  results: readonly RepetitionResult[],
  gate?: { comparison: Comparison; maxRegressionPct: number },
  /** Cells placement skipped, with the reason (their target lacks what they require). */
  skipped: ReadonlyMap<string, string> = new Map(),
): string {
  const cases = cells.map((cell): Case => {
    const rs = results.filter((r) => r.cellId === cell.id);
    const failed = rs.filter((r) => r.status === 'failed');
    const name = [cell.entry, formatParams(cell.params), `on ${cell.target.name} [${cell.id}]`]
      .filter(Boolean)
      .join(' ');
    const base = {
      classname: `${run.name}.${cell.benchmark}`,
      name,
      timeSeconds: rs.reduce((a, r) => a + r.durationMs, 0) / 1000,
    };
    if (rs.length === 0)
      return { ...base, skipped: skipped.get(cell.id) ?? 'not run (the run was cancelled or stopped first)' };
    if (failed.length === 0) return base;
    return {
      ...base,
      failure: {
        type: failed[0]!.failureClass ?? 'FAILED',
        message: `${failed.length} of ${rs.length} repetitions failed`,
        detail: failed.map((r) => `#${r.repetition} ${r.failureClass}: ${r.failureReason}`).join('\n'),
      },
    };
  });
  const regressions = gate
    ? compareCases(gate.comparison, gate.maxRegressionPct, `${run.name}.regression`)
    : [];
  return render(run.name, run.startedAt, [...cases, ...regressions]);
}

/** One testcase per contender and score: it fails on a significant regression beyond `maxRegressionPct`. */
export function compareJunit(c: Comparison, maxRegressionPct: number, timestamp: string): string {
  return render(`compare by ${c.axis}`, timestamp, compareCases(c, maxRegressionPct, 'compare'));
}

function compareCases(c: Comparison, maxRegressionPct: number, classPrefix: string): Case[] {
  return c.rows.flatMap((row) =>
    row.groups
      .filter((g) => g.group !== c.baseline)
      .map((g): Case => {
        const base = {
          classname: `${classPrefix}.${row.benchmark}`,
          name: `${row.cell} ${row.score}: ${g.group} vs ${c.baseline}`,
          timeSeconds: 0,
        };
        if (g.n === 0 || g.diffPct === undefined) return { ...base, skipped: `no results for ${g.group}` };
        const reg = regressionPct(row.direction, g.diffPct);
        if (g.verdict !== 'worse' || reg <= maxRegressionPct) return base;
        return {
          ...base,
          failure: {
            type: 'REGRESSION',
            message: `${row.score} regressed ${reg.toFixed(2)}% (> ${maxRegressionPct}%)`,
            detail: `median ${g.median} ${row.unit} vs ${row.groups[0]!.median} (${row.direction} is better); Δ ${g.diffPct.toFixed(2)}% [${g.ci?.low.toFixed(2)}, ${g.ci?.high.toFixed(2)}]; p (Holm) ${g.pAdjusted?.toPrecision(3)}`,
          },
        };
      }),
  );
}

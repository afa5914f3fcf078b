/**
 * JUnit XML for CI (Jenkins' junit step): one testcase per cell of a run, or per compared
 * score of a comparison; failures carry the reason, regressions the numbers.
 *
 * Values travel where the schema Jenkins' xunit plugin validates with (junit-10.xsd) lets
 * them: a testcase has no `<properties>` there, so each testcase's scores (and, against a
 * baseline, the % change with its CI) are its `<system-out>` — as text, and as
 * `<measurement><name>…</name><value>…</value></measurement>`, what Jenkins' Measurement
 * Plots plugin reads from a test's output to chart it build after build
 * (jenkinsci/measurement-plots-plugin, OutputParser) — and the suite's `<properties>` hold
 * the same per testcase and score.
 */
import { create } from 'xmlbuilder2';
import {
  countsInStatistics,
  historyCell,
  regressionPct,
  summarize,
  type Comparison,
  type CompareRow,
  type GroupStats,
} from '../analysis/index.js';
import type { MatrixCell, RepetitionResult, RunRecord } from '../core/index.js';
import { formatNumber, formatParams } from './summary.js';

export interface JunitCase {
  classname: string;
  name: string;
  timeSeconds: number;
  failure?: { type: string; message: string; detail: string };
  skipped?: string;
  /** The testcase's `<system-out>`. */
  out?: string;
  /** Suite properties for this testcase: name (after the testcase's) → value. */
  properties?: [string, string][];
}

/** What a run's file carries beside its cells and the baseline comparison. */
export interface RunJunitExtras {
  /** Per cell id, `expect:` checks: one not ok fails the cell's testcase. */
  expectations?: ReadonlyMap<string, readonly { ok: boolean; line: string }[]>;
  /** More testcases: the gate's summary, change points. */
  cases?: readonly JunitCase[];
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

function render(suite: string, timestamp: string, cases: readonly JunitCase[]): string {
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
  const properties = cases.flatMap((c) =>
    (c.properties ?? []).map(([k, v]) => [k ? `${c.name} ${k}` : c.name, v] as const),
  );
  if (properties.length > 0) {
    const props = s.ele('properties');
    for (const [name, value] of properties)
      props.ele('property', { name: xmlSafe(name), value: xmlSafe(value) });
  }
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
    if (c.out) tc.ele('system-out').txt(xmlSafe(c.out));
  }
  return root.end({ prettyPrint: true });
}

/** `<measurement>` markup as the Measurement Plots plugin parses it out of a test's output. */
function measurement(name: string, value: number): string {
  const esc = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return `<measurement><name>${esc(name)}</name><value>${value}</value></measurement>`;
}

/**
 * One testcase per cell: it fails when any repetition failed, with every reason, or when a
 * score fell outside its `expect:` range. Its output: each score's median, and against a
 * baseline the change with its CI. With a gate, one more testcase per compared score,
 * failing on a regression.
 */
export function runJunit(
  run: RunRecord,
  cells: readonly MatrixCell[],
  results: readonly RepetitionResult[],
  gate?: { comparison: Comparison; maxRegressionPct: number },
  /** Cells placement skipped, with the reason (their target lacks what they require). */
  skipped: ReadonlyMap<string, string> = new Map(),
  extras: RunJunitExtras = {},
): string {
  const rowsByCell = new Map<string, CompareRow[]>();
  for (const row of gate?.comparison.rows ?? [])
    rowsByCell.set(row.cell, [...(rowsByCell.get(row.cell) ?? []), row]);
  const cases = cells.map((cell): JunitCase => {
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
    const checks = extras.expectations?.get(cell.id) ?? [];
    const rows = rowsByCell.get(historyCell({ ...cell, target: cell.target.name })) ?? [];
    const values = scoreValues(rs, rows, gate?.comparison, run.id);
    const withValues = {
      ...base,
      out: [...values.lines, ...checks.map((c) => `expect ${c.line}`)].join('\n'),
      properties: values.properties,
    };
    const misses = checks.filter((c) => !c.ok);
    if (failed.length > 0)
      return {
        ...withValues,
        failure: {
          type: failed[0]!.failureClass ?? 'FAILED',
          message: `${failed.length} of ${rs.length} repetitions failed`,
          detail: failed.map((r) => `#${r.repetition} ${r.failureClass}: ${r.failureReason}`).join('\n'),
        },
      };
    if (misses.length > 0)
      return {
        ...withValues,
        failure: {
          type: 'EXPECTATION',
          message: `${misses.length} score(s) outside their expected range`,
          detail: misses.map((c) => c.line).join('\n'),
        },
      };
    return withValues;
  });
  const regressions = gate
    ? compareCases(gate.comparison, gate.maxRegressionPct, `${run.name}.regression`)
    : [];
  return render(run.name, run.startedAt, [...cases, ...regressions, ...(extras.cases ?? [])]);
}

/** Each score's median over the cell's passed, measured repetitions, and its change against the baseline. */
function scoreValues(
  rs: readonly RepetitionResult[],
  rows: readonly CompareRow[],
  c: Comparison | undefined,
  runId: string,
): { lines: string[]; properties: [string, string][] } {
  const byScore = new Map<string, { unit: string; direction: string; values: number[] }>();
  for (const r of rs)
    if (countsInStatistics(r))
      for (const s of r.scores) {
        const e = byScore.get(s.name) ?? { unit: s.unit, direction: s.direction, values: [] };
        byScore.set(s.name, e);
        e.values.push(s.value);
      }
  const lines: string[] = [];
  const properties: [string, string][] = [];
  for (const [score, e] of byScore) {
    const sum = summarize(e.values);
    const value = `median ${formatNumber(sum.median)} ${e.unit} (n ${sum.n}, ${e.direction} is better)`;
    const g = rows.find((x) => x.score === score)?.groups.find((x) => x.group === runId);
    const row = rows.find((x) => x.score === score);
    const change = c && g ? changeText(g, c.baseline, row?.confidence) : undefined;
    lines.push(`${score}: ${value}${change ? `; ${change}` : ''}`, measurement(score, sum.median));
    properties.push([score, change ? `${value}; ${change}` : value]);
    if (g?.diffPct !== undefined && Number.isFinite(g.diffPct))
      lines.push(measurement(`${score} change %`, Number(g.diffPct.toFixed(4))));
  }
  return { lines, properties };
}

function changeText(g: GroupStats, baseline: string, confidence = 0.95): string | undefined {
  if (g.diffPct === undefined) return undefined;
  const level = `${Number((100 * confidence).toPrecision(4))}%`;
  const ci = g.ci ? ` [${g.ci.low.toFixed(2)}, ${g.ci.high.toFixed(2)}] ${level} CI` : '';
  return `Δ ${g.diffPct.toFixed(2)}%${ci} vs ${baseline}, p (adj.) ${g.pAdjusted?.toPrecision(3) ?? '–'}: ${g.verdict ?? 'no verdict'}`;
}

/** One testcase per contender and score: it fails on a significant regression beyond `maxRegressionPct`. */
export function compareJunit(c: Comparison, maxRegressionPct: number, timestamp: string): string {
  return render(`compare by ${c.axis}`, timestamp, [
    ...compareCases(c, maxRegressionPct, 'compare'),
    ...energyCases(c),
  ]);
}

/**
 * Energy figures as testcases that never fail (energy is not gated), for their values and
 * change in the output and properties; only groups that measured energy, against a
 * baseline that did.
 */
function energyCases(c: Comparison): JunitCase[] {
  const rows = (c.energy?.rows ?? [])
    .filter((row) => row.groups.some((g) => g.group === c.baseline && g.n > 0))
    .map((row) => ({ ...row, groups: row.groups.filter((g) => g.n > 0) }));
  return compareCases({ ...c, rows }, Infinity, 'compare.energy');
}

function compareCases(c: Comparison, maxRegressionPct: number, classPrefix: string): JunitCase[] {
  return c.rows.flatMap((row) => {
    const base = row.groups.find((g) => g.group === c.baseline);
    return row.groups
      .filter((g) => g.group !== c.baseline)
      .map((g): JunitCase => {
        const tc = {
          classname: `${classPrefix}.${row.benchmark}`,
          name: `${row.cell} ${row.score}: ${g.group} vs ${c.baseline}`,
          timeSeconds: 0,
        };
        // Say which side lacks results: the baseline (a cell it did not have) or the contender.
        if (!base || base.n === 0)
          return { ...tc, skipped: `no baseline cell: ${c.baseline} has no passed result for it` };
        if (g.n === 0) return { ...tc, skipped: `no passed result in ${g.group}` };
        if (g.diffPct === undefined) return { ...tc, skipped: `not compared: ${g.verdict ?? 'no test'}` };
        const values = `median ${formatNumber(g.median)} ${row.unit} vs ${formatNumber(base.median)} (${row.direction} is better)`;
        const change = changeText(g, c.baseline, row.confidence)!;
        const out = [
          `${values}; ${change}`,
          measurement(`${row.score} median`, g.median),
          ...(Number.isFinite(g.diffPct)
            ? [measurement(`${row.score} change %`, Number(g.diffPct.toFixed(4)))]
            : []),
          ...(g.ci && Number.isFinite(g.ci.low)
            ? [
                measurement(`${row.score} change % CI low`, Number(g.ci.low.toFixed(4))),
                measurement(`${row.score} change % CI high`, Number(g.ci.high.toFixed(4))),
              ]
            : []),
        ].join('\n');
        const withValues = { ...tc, out, properties: [['', `${values}; ${change}`]] as [string, string][] };
        const reg = regressionPct(row.direction, g.diffPct);
        if (g.verdict !== 'worse' || reg <= maxRegressionPct) return withValues;
        return {
          ...withValues,
          failure: {
            type: 'REGRESSION',
            message: `${row.score} regressed ${reg.toFixed(2)}% (> ${maxRegressionPct}%)`,
            detail: `median ${g.median} ${row.unit} vs ${base.median} (${row.direction} is better); Δ ${g.diffPct.toFixed(2)}% [${g.ci?.low.toFixed(2)}, ${g.ci?.high.toFixed(2)}]; p (adj.) ${g.pAdjusted?.toPrecision(3)}`,
          },
        };
      });
  });
}

/**
 * The regression gates as the CLI says them (`run --baseline [--gate changepoint]`,
 * `compare --max-regression`): what failed, then always a summary of what was checked and
 * what could not be, and why. src/run decides.
 */
import type { Comparison } from '../analysis/index.js';
import { InputError, type BenchmarkFailedError } from '../core/index.js';
import type { JunitCase } from '../report/index.js';
import {
  changepointFailure,
  gateFailure,
  judge,
  type ChangepointFinding,
  type ChangepointVerdict,
  type GateKind,
  type GateOutcome,
  type GateSummary,
  type GateVerdict,
} from '../run/index.js';

/** `5%` or `5` → 5. */
export function parsePercent(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*%?$/.exec(text.trim());
  if (!m) throw new InputError(`--max-regression '${text}': expected a percentage such as 5%`);
  return Number(m[1]);
}

/** `--baseline-runs K`: 1 to 100. */
export function parseBaselineRuns(text: string | undefined): number {
  if (text === undefined) return 1;
  const k = /^\d{1,3}$/.test(text.trim()) ? Number(text) : NaN;
  if (!(k >= 1 && k <= 100))
    throw new InputError(`--baseline-runs '${text}': expected a number of runs from 1 to 100`);
  return k;
}

export function parseGateKind(text: string | undefined): GateKind {
  if (text === undefined || text === 'baseline' || text === 'changepoint') return text ?? 'baseline';
  throw new InputError(`--gate '${text}': expected baseline or changepoint`);
}

const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

/** One line: how many comparisons, checked (and how they came out), unchecked and why. */
export function summaryLine(s: GateSummary, maxPct: number): string {
  const checked = `${s.checked} checked (${count(s.regressions, 'regression')}, ${count(s.improvements, 'improvement')}, ${s.unchanged} no significant difference, ${s.withinThreshold} worse within ${maxPct}%)`;
  const total = s.unchecked.reduce((a, u) => a + u.comparisons, 0);
  const why = s.unchecked.map(
    (u) => `${count(u.cells, 'cell')} (${count(u.comparisons, 'comparison')}): ${u.reason}`,
  );
  return `${count(s.comparisons, 'comparison')}: ${checked}; ${total} unchecked${why.length ? ` — ${why.join('; ')}` : ''}`;
}

/** Each regression beyond the threshold, then the summary. */
export function gateLines(v: GateVerdict): string[] {
  const { comparison: c, maxRegressionPct: maxPct } = v;
  return [
    ...v.regressions.map(
      (r) =>
        `regression: ${r.row.cell} ${r.row.score} ${r.group.group} vs ${c.baseline}: ${r.pct.toFixed(2)}% worse (> ${maxPct}%), p (adj.) ${r.group.pAdjusted?.toPrecision(3)}`,
    ),
    `gate: ${summaryLine(v.summary, maxPct)}`,
  ];
}

function findingLine(f: ChangepointFinding): string {
  const { series: s, change: c } = f;
  const fmt = (x: number) => Number(x.toPrecision(6)).toString();
  return `change point: ${s.cell} ${s.score} at ${c.runId} (${c.at}): mean ${fmt(c.before.mean)} → ${fmt(c.after.mean)} ${s.unit} (${c.changePct >= 0 ? '+' : ''}${c.changePct.toFixed(2)}%, ${c.verdict}; ${c.before.to - c.before.from} runs before, ${c.after.to - c.after.from} after), p ${c.p.toPrecision(2)}`;
}

export function changepointLines(v: ChangepointVerdict): string[] {
  const s = v.summary;
  const un = s.unchecked.map((u) => `${u.series}: ${u.reason}`);
  return [
    ...v.regressions.map(findingLine),
    ...v.others.map((f) => `${findingLine(f)} (not beyond ${v.maxRegressionPct}% worse: passes)`),
    `gate: ${count(s.series, 'cell score')} over ${count(v.runs, 'run')}: ${s.checked} checked (${v.regressions.length} new change point(s) worse by more than ${v.maxRegressionPct}%, ${v.others.length} other(s)); ${s.series - s.checked} unchecked${un.length ? ` — ${un.join('; ')}` : ''}`,
  ];
}

/** What the run's gate says (stderr), the testcases it adds, and how it ends. */
export function runGate(
  r: GateOutcome & { run: { id: string; name: string } },
  kind: GateKind,
  maxPct: number,
): { lines: string[]; cases: JunitCase[]; failure?: BenchmarkFailedError } {
  const label = r.gate?.comparison.baseline;
  const head = r.changepoint
    ? [`gate: ${r.run.id} change points over ${r.against}, max regression ${maxPct}%`]
    : label !== undefined
      ? [
          `gate: ${r.run.id} against ${label}, max regression ${maxPct}%`,
          // What the label stands for, where it says less than that.
          ...(r.against && r.against !== label ? [`gate: baseline: ${r.against}`] : []),
        ]
      : [`gate: ${r.run.id} (${kind} gate)`];
  const notes = (r.gateNotes ?? []).map((n) => `gate: ${n}`);
  const lines = [...head, ...notes];
  if (r.gate) lines.push(...gateLines(r.gate));
  if (r.changepoint) lines.push(...changepointLines(r.changepoint));
  const failure = (r.gate && gateFailure(r.gate)) ?? (r.changepoint && changepointFailure(r.changepoint));
  const classname = `${r.run.name}.gate`;
  const cases: JunitCase[] = (r.changepoint?.regressions ?? []).map((f) => ({
    classname: `${r.run.name}.changepoint.${f.series.benchmark}`,
    name: `${f.series.cell} ${f.series.score}: change point at ${f.change.runId}`,
    timeSeconds: 0,
    failure: {
      type: 'CHANGE_POINT',
      message: `${f.series.score} ${f.regressionPct.toFixed(2)}% worse since ${f.change.runId} (> ${maxPct}%)`,
      detail: findingLine(f),
    },
  }));
  cases.push({
    classname,
    name: `gate (${kind})`,
    timeSeconds: 0,
    // Failing, the summary is the failure's text (what Jenkins shows first); passing, the output.
    ...(failure
      ? { failure: { type: 'GATE', message: failure.message, detail: lines.join('\n') } }
      : { out: lines.join('\n') }),
  });
  return { lines, cases, ...(failure ? { failure } : {}) };
}

/** `compare --max-regression`: says the regressions and the summary, then throws (exit 1) where there is one. */
export function enforceGate(c: Comparison, maxPct: number, write: (line: string) => void): void {
  const v = judge(c, maxPct);
  for (const line of gateLines(v)) write(`${line}\n`);
  const failure = gateFailure(v);
  if (failure) throw failure;
}

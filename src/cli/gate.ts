/** The regression gate as the CLI says it (`run --baseline`, `compare --max-regression`); src/run decides. */
import type { Comparison } from '../analysis/index.js';
import { InputError } from '../core/index.js';
import { gateFailure, judge, type GateVerdict } from '../run/index.js';

/** `5%` or `5` → 5. */
export function parsePercent(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*%?$/.exec(text.trim());
  if (!m) throw new InputError(`--max-regression '${text}': expected a percentage such as 5%`);
  return Number(m[1]);
}

/** Says each regression beyond the threshold, then throws (exit 1) where there is one. */
export function sayGate(v: GateVerdict, write: (line: string) => void): void {
  const { comparison: c, maxRegressionPct: maxPct } = v;
  for (const r of v.regressions)
    write(
      `regression: ${r.row.cell} ${r.row.score} ${r.group.group} vs ${c.baseline}: ${r.pct.toFixed(2)}% worse (> ${maxPct}%), p (Holm) ${r.group.pAdjusted?.toPrecision(3)}\n`,
    );
  const failure = gateFailure(v);
  if (failure) throw failure;
}

/** Throws (exit 1) when the comparison holds a significant regression beyond the threshold. */
export function enforceGate(c: Comparison, maxPct: number, write: (line: string) => void): void {
  sayGate(judge(c, maxPct), write);
}

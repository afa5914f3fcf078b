/** The regression gate shared by `run --baseline` and `compare`. */
import { regressions, type Comparison } from '../analysis/index.js';
import { BenchmarkFailedError, InputError } from '../core/index.js';

/** `5%` or `5` → 5. */
export function parsePercent(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*%?$/.exec(text.trim());
  if (!m) throw new InputError(`--max-regression '${text}': expected a percentage such as 5%`);
  return Number(m[1]);
}

/** Throws (exit 1) when the comparison holds a significant regression beyond the threshold. */
export function enforceGate(c: Comparison, maxPct: number, write: (line: string) => void): void {
  const found = regressions(c, maxPct);
  for (const r of found)
    write(
      `regression: ${r.row.cell} ${r.row.score} ${r.group.group} vs ${c.baseline}: ${r.pct.toFixed(2)}% worse (> ${maxPct}%), p (Holm) ${r.group.pAdjusted?.toPrecision(3)}\n`,
    );
  if (found.length > 0)
    throw new BenchmarkFailedError(
      `${found.length} significant regression(s) beyond ${maxPct}% against ${c.baseline}`,
    );
}

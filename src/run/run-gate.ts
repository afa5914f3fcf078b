/**
 * The gate of one run, once it ended: against its baseline (the default), or over the
 * history of its tag (`--gate changepoint`); with no baseline yet, a note and a pass.
 */
import type { RepetitionResult, RunRecord } from '../core/index.js';
import type { Baseline } from './baseline.js';
import { changepointGate, type ChangepointVerdict } from './changepoint-gate.js';
import { againstBaseline, type GateVerdict } from './gate.js';
import type { StoredRuns } from './ports.js';

export type GateKind = 'baseline' | 'changepoint';

/** `--gate changepoint` reads this many of the newest runs of the history. */
export const HISTORY_RUNS = 100;

/** What a run's gate found; a run without `--baseline` has none of it. */
export interface GateOutcome {
  /** `--gate baseline`: the comparison with the baseline (one run, or several pooled). */
  gate?: GateVerdict;
  /** `--gate changepoint`: change points among the newest runs. */
  changepoint?: ChangepointVerdict;
  /** What the run was gated against, in words. */
  against?: string;
  /** Said, never failing: no baseline yet, fewer runs pooled than asked. */
  gateNotes?: string[];
}

export async function gateRun(
  baseline: Baseline,
  stored: StoredRuns | undefined,
  kind: GateKind,
  ran: { run: RunRecord; results: readonly RepetitionResult[] },
  maxRegressionPct: number,
  includeSuspect = false,
): Promise<GateOutcome> {
  if (baseline.kind === 'none') return { gateNotes: [baseline.note] };
  const before: RepetitionResult[] = [];
  for (const id of baseline.runIds) before.push(...((await stored?.listResults({ runId: id })) ?? []));
  const common = { against: baseline.describe, gateNotes: baseline.notes };
  if (kind === 'baseline')
    return {
      ...common,
      gate: againstBaseline(baseline.label, before, ran.results, maxRegressionPct, includeSuspect),
    };
  const history = { runs: baseline.records, results: before, describe: baseline.describe };
  return { ...common, changepoint: changepointGate(history, ran.run, ran.results, maxRegressionPct) };
}

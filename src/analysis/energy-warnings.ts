/**
 * What makes energy figures hard to compare, said under the table: groups that measured
 * different sources, and repetitions that ran at once on one machine (energy is
 * machine-wide, so each counts the others' draw). Pure.
 */
import type { RepetitionResult } from '../core/index.js';

/** Groups whose joules count different sources (GPU only vs GPU + CPU) are not comparable. */
export function sourceWarnings(
  rs: readonly RepetitionResult[],
  ctx: { groups: readonly string[]; groupOf: (r: RepetitionResult) => string },
): string[] {
  const kinds = new Map<string, Set<string>>();
  for (const r of rs) {
    const e = r.metrics.energy!;
    const of = [
      e.gpuJoules !== undefined ? 'GPU' : '',
      e.cpuJoules !== undefined ? 'CPU' : '',
      e.dramJoules !== undefined ? 'DRAM' : '',
    ].filter(Boolean);
    const label = of.length > 0 ? of.join(' + ') : Object.keys(e.sources).sort().join(' + ') || '?';
    const g = ctx.groupOf(r);
    kinds.set(g, (kinds.get(g) ?? new Set()).add(label));
  }
  const all = new Set([...kinds.values()].flatMap((s) => [...s]));
  if (all.size <= 1) return [];
  return [
    `energy: groups measured different sources (${ctx.groups
      .filter((g) => kinds.has(g))
      .map((g) => `${g}: ${[...kinds.get(g)!].join(' | ')}`)
      .join('; ')}), so their joules are not comparable`,
  ];
}

/**
 * Energy is machine-wide: repetitions that ran at once on one machine each count the
 * others' draw. Said once per machine where it happened.
 */
export function overlapWarnings(rs: readonly RepetitionResult[]): string[] {
  const byMachine = new Map<string, RepetitionResult[]>();
  for (const r of rs) {
    const key = `${r.runId}/${r.machineId}`;
    const list = byMachine.get(key);
    if (list) list.push(r);
    else byMachine.set(key, [r]);
  }
  const warnings: string[] = [];
  for (const [machine, list] of byMachine) {
    const spans = list
      .map((r) => ({ start: Date.parse(r.startedAt), end: Date.parse(r.finishedAt) }))
      .filter((s) => Number.isFinite(s.start) && Number.isFinite(s.end))
      .sort((a, b) => a.start - b.start);
    let overlapping = 0;
    let latestEnd = -Infinity;
    for (const s of spans) {
      if (s.start < latestEnd) overlapping++;
      latestEnd = Math.max(latestEnd, s.end);
    }
    if (overlapping > 0)
      warnings.push(
        `energy: ${overlapping} repetitions on ${machine} started while another was running; energy is machine-wide, so their joules include the others' draw (concurrency: 1 measures one at a time)`,
      );
  }
  return warnings;
}

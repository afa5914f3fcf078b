/**
 * The energy rows of a Comparison as text: where they go in the compare table (after their
 * cell's scores) and the lines under it. Browser-safe (the web UI and the HTML report draw
 * the same table): no Node imports, types only from src/analysis.
 */
import type { CompareRow, Comparison } from '../analysis/compare.js';
import type { EnergyRow } from '../analysis/energy.js';

/** The score rows with each cell's energy rows after its scores; energy of cells without scores last. */
export function rowsWithEnergy(c: Comparison): CompareRow[] {
  const energy = c.energy?.rows ?? [];
  if (energy.length === 0) return c.rows;
  const byCell = new Map<string, EnergyRow[]>();
  for (const row of energy) byCell.set(row.cell, [...(byCell.get(row.cell) ?? []), row]);
  const out: CompareRow[] = [];
  c.rows.forEach((row, i) => {
    out.push(row);
    if (c.rows[i + 1]?.cell === row.cell) return;
    out.push(...(byCell.get(row.cell) ?? []));
    byCell.delete(row.cell);
  });
  for (const rest of byCell.values()) out.push(...rest);
  return out;
}

export function isEnergyRow(row: CompareRow): row is EnergyRow {
  return 'energy' in row && typeof (row as EnergyRow).energy === 'string';
}

/** What the energy rows are, which groups have none and why, and energy's warnings. */
export function energyLines(c: Comparison): string[] {
  const e = c.energy;
  if (!e) return [];
  const lines: string[] = [];
  if (e.rows.length > 0)
    lines.push(
      `energy: joules per repetition, a higher-is-better score ÷ mean power (per joule for a per-second score, else per watt), a lower-is-better time score × mean power (energy per result); measured, machine-wide; Δ and CI as for the scores (joules at α ${c.alpha}, a score's figure at the score's α); not part of the families or the gate`,
    );
  const missing = e.missing ?? [];
  if (e.rows.length === 0 && missing.length > 0)
    lines.push(`energy n/a: ${[...new Set(missing.flatMap((m) => m.reasons))].join('; ')}`);
  else
    for (const m of missing)
      lines.push(
        m.measured === 0
          ? `energy n/a for ${m.group}: ${m.reasons.join('; ')}`
          : `energy of ${m.group} from ${m.measured} of ${m.of} repetitions (the others: ${m.reasons.join('; ')})`,
      );
  return [...lines, ...(e.warnings ?? []).map((w) => `warning: ${w}`)];
}

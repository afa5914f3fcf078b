/**
 * `benchyard plan`: expands a matrix into cells and prints them. No side effects: only
 * `local` targets are looked at for requirements (GPUs, devices); remote ones are checked
 * when a run places them.
 */
import { loadCatalog, loadMatrix } from '../../config/index.js';
import { inventory } from '../../metrics/gpu/index.js';
import { placeByRequirements, planMatrix } from '../../plan/index.js';
import { planTable } from '../../report/index.js';
import { LocalProvider } from '../../../providers/local/index.js';
import type { CliIo } from '../io.js';
import { BUILTIN_BENCHMARKS } from '../paths.js';
import { describeTargets } from '../placement.js';

export async function planCommand(matrixFile: string, opts: { json?: boolean }, io: CliIo): Promise<void> {
  const catalog = await loadCatalog([BUILTIN_BENCHMARKS]);
  const planned = planMatrix(await loadMatrix(matrixFile, catalog), catalog);
  const local = new Map([['local', new LocalProvider({ gpuInventory: () => inventory() })]]);
  const { plan, skipped } = placeByRequirements(
    planned,
    await describeTargets(planned, local, io.logger, io.signal),
  );
  if (opts.json)
    return io.stdout(
      `${JSON.stringify({ ...plan, skipped: skipped.map((s) => ({ cell: s.cell, reason: s.reason })) }, null, 2)}\n`,
    );
  io.stdout(`${planTable(plan.cells)}\n`);
  for (const s of skipped)
    io.stdout(`skipped: ${s.cell.entry} [${s.cell.id}] on target '${s.cell.target.name}': ${s.reason}\n`);
  const privileged = plan.cells.filter((c) => c.requires.privileged);
  if (privileged.length)
    io.stdout(
      `privileged containers (the benchmark asks for it): ${[...new Set(privileged.map((c) => c.entry))].join(', ')}\n`,
    );
  io.stdout(
    `${plan.matrixName}: ${plan.cells.length} cells, ${plan.repetitions} repetitions, ${plan.concurrency} at once per machine${skipped.length ? `, ${skipped.length} skipped` : ''}\n`,
  );
}

/** `benchyard plan`: expands a matrix into cells and prints them. No side effects. */
import { loadCatalog, loadMatrix } from '../../config/index.js';
import { planMatrix } from '../../plan/index.js';
import { planTable } from '../../report/index.js';
import type { CliIo } from '../io.js';
import { BUILTIN_BENCHMARKS } from '../paths.js';

export async function planCommand(matrixFile: string, opts: { json?: boolean }, io: CliIo): Promise<void> {
  const catalog = await loadCatalog([BUILTIN_BENCHMARKS]);
  const plan = planMatrix(await loadMatrix(matrixFile, catalog), catalog);
  if (opts.json) return io.stdout(`${JSON.stringify(plan, null, 2)}\n`);
  io.stdout(`${planTable(plan.cells)}\n`);
  io.stdout(
    `${plan.matrixName}: ${plan.cells.length} cells, ${plan.repetitions} repetitions, ${plan.concurrency} at once per machine\n`,
  );
}

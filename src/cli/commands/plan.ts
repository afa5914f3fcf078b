/**
 * `benchyard plan`: expands a matrix into cells and prints them. No side effects: only
 * `local` targets are looked at for requirements (GPUs, devices); remote ones are checked
 * when a run places them. Lists what the containers get from their machines (folders,
 * devices) and warns about what exposes a machine, as it does for `privileged`.
 */
import { realpathSync, statSync } from 'node:fs';
import os from 'node:os';
import { loadCatalog, loadMatrix } from '../../config/index.js';
import { gpuFacts, inventory } from '../../metrics/gpu/index.js';
import {
  formatMount,
  mountWarnings,
  placeByRequirements,
  planMatrix,
  planMounts,
  type MountFacts,
} from '../../plan/index.js';
import { escapeControl, planTable } from '../../report/index.js';
import { LocalProvider } from '../../../providers/local/index.js';
import type { CliIo } from '../io.js';
import { BUILTIN_BENCHMARKS } from '../paths.js';
import { describeTargets } from '../../run/index.js';

/**
 * Rows of the table at most: the table takes time quadratic in its rows, and nobody reads
 * thousands of rows on a terminal; `--json` lists every cell.
 */
export const MAX_TABLE_ROWS = 1000;

export async function planCommand(
  matrixFile: string,
  opts: { json?: boolean; wide?: boolean },
  io: CliIo,
): Promise<void> {
  // SIGINT/SIGTERM end `plan` at once (main.ts): it has nothing to clean up.
  const catalog = await loadCatalog([BUILTIN_BENCHMARKS]);
  const planned = planMatrix(await loadMatrix(matrixFile, catalog), catalog);
  const local = new Map([['local', new LocalProvider({ gpus: async () => gpuFacts(await inventory()) })]]);
  const { plan, skipped } = placeByRequirements(
    planned,
    await describeTargets(planned, local, io.logger, io.signal),
  );
  // Every cell of the matrix, skipped ones too: they run wherever a machine has what they need.
  const mounts = planMounts(planned.cells);
  const warnings = mountWarnings(mounts, hostFacts());
  if (opts.json)
    return io.stdout(
      `${JSON.stringify(
        {
          ...plan,
          skipped: skipped.map((s) => ({ cell: s.cell, reason: s.reason })),
          mounts,
          warnings,
        },
        null,
        2,
      )}\n`,
    );
  const shown = plan.cells.slice(0, MAX_TABLE_ROWS);
  io.stdout(`${planTable(shown, opts.wide ? undefined : io.columns)}\n`);
  if (shown.length < plan.cells.length)
    io.stdout(
      `… ${plan.cells.length - shown.length} more cells not shown (the first ${MAX_TABLE_ROWS} are); plan --json lists every cell\n`,
    );
  const line = (text: string) => io.stdout(`${escapeControl(text)}\n`);
  for (const s of skipped)
    line(`skipped: ${s.cell.entry} [${s.cell.id}] on target '${s.cell.target.name}': ${s.reason}`);
  if (mounts.length) {
    io.stdout('mounts (what the containers get from their machines):\n');
    for (const m of mounts) line(`  ${formatMount(m)}`);
  }
  for (const w of warnings) line(`warning: ${w}`);
  const privileged = planned.cells.filter((c) => c.requires.privileged);
  if (privileged.length)
    line(
      `privileged containers (the benchmark asks for it): ${[...new Set(privileged.map((c) => c.entry))].join(', ')}`,
    );
  io.stdout(
    `${plan.matrixName}: ${plan.cells.length} cells, ${plan.repetitions} repetitions, ${plan.concurrency} at once per machine${skipped.length ? `, ${skipped.length} skipped` : ''}\n`,
  );
}

/** This machine's filesystem, for the warnings about local targets' mounts. */
function hostFacts(): MountFacts {
  return {
    home: os.homedir(),
    realpath: (p) => {
      try {
        return realpathSync(p);
      } catch {
        return p;
      }
    },
    isBlockDevice: (p) => {
      try {
        return statSync(p).isBlockDevice();
      } catch {
        return undefined;
      }
    },
  };
}

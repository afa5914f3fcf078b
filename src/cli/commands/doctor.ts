/**
 * `benchyard doctor [matrix]`: checks the machines of a matrix's targets (or this machine)
 * before anyone spends money on them: Docker and its storage driver, free inodes on its data
 * root, the NVIDIA runtime and nvidia-smi with a driver in range, the device nodes the
 * benchmarks ask for, clock skew (src/doctor); a cluster's API, RBAC, nodes, quota and
 * whether its nodes pull from the run's registry (the agent image, pushed there). Exit 3
 * when a check fails.
 */
import Docker from 'dockerode';
import { loadCatalog, loadMatrix } from '../../config/index.js';
import {
  chooseTargets,
  doctorFailure,
  examine,
  matrixTargets,
  THIS_MACHINE,
  type DoctorReport,
  type DoctorTarget,
} from '../../doctor/index.js';
import { planMatrix } from '../../plan/index.js';
import { dataTable } from '../../report/index.js';
import type { CliIo } from '../io.js';
import { BUILTIN_BENCHMARKS } from '../paths.js';
import { registryAgentImage } from '../monitors.js';
import { providerSet } from '../providers.js';

export type { DoctorReport };

export interface DoctorOptions {
  state: string;
  target?: string[];
  json?: boolean;
}

export async function doctorCommand(
  matrixFile: string | undefined,
  opts: DoctorOptions,
  io: CliIo,
): Promise<void> {
  const chosen = chooseTargets(matrixFile ? await loadTargets(matrixFile) : [THIS_MACHINE], opts.target);
  const set = await providerSet({ state: opts.state, logger: io.logger, maxLifetimeMs: 3_600_000 });
  const controller = new Docker();
  // One push per registry, however many targets pull from it.
  const pushed = new Map<string, Promise<string>>();
  let reports: DoctorReport[];
  try {
    reports = await examine(chosen, {
      providers: set.providers,
      controller,
      logger: io.logger,
      signal: io.signal,
      registryImage: (registry) => {
        const key = `${registry.push}\0${registry.pull}`;
        let image = pushed.get(key);
        if (!image)
          pushed.set(
            key,
            (image = registryAgentImage(controller, registry, { logger: io.logger, signal: io.signal })),
          );
        return image;
      },
    });
  } finally {
    set.close();
  }
  if (opts.json) io.stdout(`${JSON.stringify(reports, null, 2)}\n`);
  else
    for (const r of reports) {
      const table = dataTable(
        ['check', 'status', 'detail'],
        r.checks.map((c) => [c.check, c.status.toUpperCase(), c.detail]),
        io.columns,
      );
      io.stdout(`target '${r.target}' — ${r.machine}\n${table}\n`);
    }
  const failure = doctorFailure(reports);
  if (failure) throw failure;
}

async function loadTargets(file: string): Promise<DoctorTarget[]> {
  const catalog = await loadCatalog([BUILTIN_BENCHMARKS]);
  const matrix = await loadMatrix(file, catalog);
  return matrixTargets(matrix.targets, planMatrix(matrix, catalog));
}

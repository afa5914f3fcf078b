/**
 * `benchyard doctor [matrix]`: checks the machines of a matrix's targets (or this machine)
 * before anyone spends money on them: Docker and its storage driver, free inodes on its data
 * root, the NVIDIA runtime and nvidia-smi with a driver in range, the device nodes the
 * benchmarks ask for, clock skew. Machines that exist (this one, SSH hosts) are leased and
 * looked at; cloud targets are not provisioned — their instance type's facts are checked
 * against the requirements instead. Exit 3 when a check fails.
 */
import Docker from 'dockerode';
import Table from 'cli-table3';
import stringify from 'safe-stable-stringify';
import {
  errorMessage,
  MachineBusyError,
  InfrastructureError,
  InputError,
  type Machine,
  type MatrixCell,
  type Provider,
  type TargetSpec,
} from '../../core/index.js';
import { loadCatalog, loadMatrix } from '../../config/index.js';
import {
  machineChecks,
  probeMachine,
  requirementChecks,
  type Check,
  type Needed,
} from '../../doctor/index.js';
import { shipImage } from '../../engine/index.js';
import { planMatrix } from '../../plan/index.js';
import type { CliIo } from '../io.js';
import { BUILTIN_BENCHMARKS } from '../paths.js';
import { providerSet } from '../providers.js';

export interface DoctorOptions {
  state: string;
  target?: string[];
  json?: boolean;
}

/** One machine (or a cloud target, which has none yet) and its checks. */
export interface DoctorReport {
  target: string;
  machine: string;
  checks: Check[];
}

/** Present on dev and CI machines (scripts/services); shipped to a remote machine that lacks it. */
const PROBE_IMAGE = 'benchyard/base:bookworm';
const THIS_MACHINE: TargetSpec = { name: 'local', provider: 'local', options: {} };

export async function doctorCommand(
  matrixFile: string | undefined,
  opts: DoctorOptions,
  io: CliIo,
): Promise<void> {
  const targets = matrixFile ? await matrixTargets(matrixFile) : [{ spec: THIS_MACHINE, needed: [] }];
  const chosen = opts.target?.length ? targets.filter((t) => opts.target!.includes(t.spec.name)) : targets;
  if (opts.target?.length && chosen.length !== opts.target.length)
    throw new InputError(
      `--target: no target ${opts.target.filter((n) => !targets.some((t) => t.spec.name === n)).join(', ')} in the matrix (targets: ${targets.map((t) => t.spec.name).join(', ')})`,
    );
  const set = await providerSet({ state: opts.state, logger: io.logger, maxLifetimeMs: 3_600_000 });
  const reports: DoctorReport[] = [];
  try {
    for (const { spec, needed } of chosen) {
      const provider = set.providers.get(spec.provider)!;
      reports.push(...(await checkTarget(spec, provider, needed, io)));
    }
  } finally {
    set.close();
  }
  if (opts.json) io.stdout(`${JSON.stringify(reports, null, 2)}\n`);
  else
    for (const r of reports) {
      const table = new Table({
        head: ['check', 'status', 'detail'],
        style: { head: [], border: [] },
        wordWrap: true,
        colWidths: [24, 8, 80],
      });
      for (const c of r.checks) table.push([c.check, c.status.toUpperCase(), c.detail]);
      io.stdout(`target '${r.target}' — ${r.machine}\n${table.toString()}\n`);
    }
  const failed = reports.flatMap((r) =>
    r.checks.filter((c) => c.status === 'fail').map((c) => `${r.machine}: ${c.check}`),
  );
  if (failed.length)
    throw new InfrastructureError(`doctor: ${failed.length} checks failed (${failed.join('; ')})`, {
      failed: failed.length,
    });
}

async function checkTarget(
  spec: TargetSpec,
  provider: Provider,
  needed: Needed[],
  io: CliIo,
): Promise<DoctorReport[]> {
  // Cloud machines cost money from the moment they exist: judge the type, provision nothing.
  if (provider.capabilities.elastic) {
    try {
      const facts = await provider.describe?.(spec, io.signal);
      return [
        {
          target: spec.name,
          machine: `${spec.provider} (not provisioned)`,
          checks: [
            {
              check: 'machine',
              status: 'skip',
              detail: "not provisioned: doctor spends no money; a run's machines are checked as they start",
            },
            {
              check: `${spec.provider} API`,
              status: facts ? 'ok' : 'skip',
              detail: facts ? describeFacts(facts) : 'this provider says nothing before a machine exists',
            },
            ...requirementChecks(facts && Object.keys(facts).length ? facts : undefined, needed),
          ],
        },
      ];
    } catch (err) {
      return [
        {
          target: spec.name,
          machine: `${spec.provider} (not provisioned)`,
          checks: [{ check: `${spec.provider} API`, status: 'fail', detail: errorMessage(err) }],
        },
      ];
    }
  }
  const count = provider.capacity?.(spec).max ?? 1;
  const reports: DoctorReport[] = [];
  const controller = new Docker();
  // Every machine is held until all are checked: a lease given back would be handed out again.
  const held: Machine[] = [];
  try {
    for (let i = 0; i < Math.max(1, count); i++) {
      try {
        // A machine another controller holds is not waited for: doctor says who holds it.
        held.push(await provider.acquire(spec, io.signal, { wait: false }));
      } catch (err) {
        const busy = err instanceof MachineBusyError;
        reports.push({
          target: spec.name,
          machine: `${spec.provider} machine ${i + 1} of ${count}`,
          checks: [
            { check: busy ? 'lease' : 'reach', status: busy ? 'skip' : 'fail', detail: errorMessage(err) },
          ],
        });
      }
    }
    for (const machine of held) reports.push(await checkMachine(spec, machine, needed, controller, io));
  } finally {
    await Promise.all(
      held.map((m) =>
        provider
          .release(m, AbortSignal.timeout(60_000))
          .catch((err: unknown) =>
            io.logger.error(`releasing ${m.id}: ${errorMessage(err)}; run 'benchyard gc'`),
          ),
      ),
    );
  }
  return reports;
}

async function checkMachine(
  spec: TargetSpec,
  machine: Machine,
  needed: readonly Needed[],
  controller: Docker,
  io: CliIo,
): Promise<DoctorReport> {
  try {
    if (machine.ssh)
      await shipImage(controller, machine.docker, PROBE_IMAGE, machine.id, { signal: io.signal });
    const devices = [
      ...new Set(
        needed.flatMap((n) =>
          [...n.requires.devices, ...(n.requires.fpga?.devices ?? [])].map((d) => d.host),
        ),
      ),
    ];
    const probe = await probeMachine(machine.docker, {
      image: PROBE_IMAGE,
      devices,
      gpu: needed.some((n) => n.requires.gpu),
      signal: io.signal,
      logger: io.logger,
    });
    return { target: spec.name, machine: machine.id, checks: machineChecks(probe, needed) };
  } catch (err) {
    return {
      target: spec.name,
      machine: machine.id,
      checks: [{ check: 'probe', status: 'fail', detail: errorMessage(err) }],
    };
  }
}

/** Each target of the matrix with the distinct requirement sets of its cells. */
async function matrixTargets(file: string): Promise<{ spec: TargetSpec; needed: Needed[] }[]> {
  const catalog = await loadCatalog([BUILTIN_BENCHMARKS]);
  const matrix = await loadMatrix(file, catalog);
  const plan = planMatrix(matrix, catalog);
  return matrix.targets.map((spec) => ({
    spec,
    needed: distinctRequirements(plan.cells.filter((c) => c.target.name === spec.name)),
  }));
}

function distinctRequirements(cells: readonly MatrixCell[]): Needed[] {
  const byKey = new Map<string, { entries: Set<string>; requires: MatrixCell['requires'] }>();
  for (const c of cells) {
    const r = c.requires;
    if (!r.gpu && !r.fpga && r.devices.length === 0) continue;
    const key = stringify(r) ?? '';
    const seen = byKey.get(key) ?? { entries: new Set<string>(), requires: r };
    seen.entries.add(c.entry);
    byKey.set(key, seen);
  }
  return [...byKey.values()].map((n) => ({ entries: [...n.entries], requires: n.requires }));
}

function describeFacts(f: NonNullable<Awaited<ReturnType<NonNullable<Provider['describe']>>>>): string {
  const list = (xs: readonly { model: string; count: number }[] | undefined, what: string) =>
    xs === undefined
      ? ''
      : `${what}: ${xs.length ? xs.map((x) => `${x.count}× ${x.model}`).join(', ') : 'none'}`;
  return [list(f.gpus, 'GPUs'), list(f.fpgas, 'FPGAs')].filter(Boolean).join('; ') || 'answered';
}

/**
 * `doctor`: checks the machines of targets before anyone spends money on them. Machines
 * that exist (this one, SSH hosts) are leased and probed; cloud targets are not
 * provisioned — their instance type's facts are checked against the requirements instead;
 * a provider's `preflight` says what its API knows (a cluster's also whether its nodes pull
 * from the run's registry).
 */
import type Docker from 'dockerode';
import {
  errorMessage,
  InfrastructureError,
  MachineBusyError,
  type Logger,
  type Machine,
  type PreflightOptions,
  type Provider,
  type TargetSpec,
} from '../core/index.js';
import { dockerOf, shipImage } from '../engine/index.js';
import { machineChecks, requirementChecks, type Check, type Needed } from './checks.js';
import { probeMachine } from './probe.js';
import type { DoctorTarget } from './targets.js';

/** One machine (or a cloud target, which has none yet) and its checks. */
export interface DoctorReport {
  target: string;
  machine: string;
  checks: Check[];
}

export interface DoctorDeps {
  providers: ReadonlyMap<string, Provider>;
  /** The controller's engine: remote machines get the probe image from it. */
  controller: Docker;
  logger: Logger;
  signal: AbortSignal;
  /**
   * Pushes an image the controller has to the registry and answers it by digest as `pull`
   * reaches it: targets whose nodes pull (a cluster's) try pulling it.
   */
  registryImage?: (registry: { push: string; pull: string }) => Promise<string>;
}

/** Present on dev and CI machines (scripts/services); shipped to a remote machine that lacks it. */
const PROBE_IMAGE = 'benchyard/base:bookworm';

/** How long a machine's release may take once its checks are done. */
const RELEASE_TIMEOUT_MS = 60_000;

export async function examine(targets: readonly DoctorTarget[], deps: DoctorDeps): Promise<DoctorReport[]> {
  const reports: DoctorReport[] = [];
  for (const target of targets)
    reports.push(...(await checkTarget(target, deps.providers.get(target.spec.provider)!, deps)));
  return reports;
}

/** The error doctor ends with where a check failed (exit 3). */
export function doctorFailure(reports: readonly DoctorReport[]): InfrastructureError | undefined {
  const failed = reports.flatMap((r) =>
    r.checks.filter((c) => c.status === 'fail').map((c) => `${r.machine}: ${c.check}`),
  );
  if (failed.length === 0) return undefined;
  return new InfrastructureError(`doctor: ${failed.length} checks failed (${failed.join('; ')})`, {
    failed: failed.length,
  });
}

async function checkTarget(
  { spec, needed, registry }: DoctorTarget,
  provider: Provider,
  deps: DoctorDeps,
): Promise<DoctorReport[]> {
  // Cloud machines cost money from the moment they exist: judge the type, provision nothing.
  if (provider.capabilities.elastic) {
    const { registryImage } = deps;
    const opts: PreflightOptions =
      registry && registryImage ? { registryImage: () => registryImage(registry) } : {};
    return [await judgeType(spec, provider, needed, opts, deps.signal)];
  }
  const count = provider.capacity?.(spec).max ?? 1;
  const reports: DoctorReport[] = [];
  // Every machine is held until all are checked: a lease given back would be handed out again.
  const held: Machine[] = [];
  try {
    for (let i = 0; i < Math.max(1, count); i++) {
      try {
        // A machine another controller holds is not waited for: doctor says who holds it.
        held.push(await provider.acquire(spec, deps.signal, { wait: false }));
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
    for (const machine of held) reports.push(await checkMachine(spec, machine, needed, deps));
  } finally {
    await Promise.all(
      held.map((m) =>
        provider
          .release(m, AbortSignal.timeout(RELEASE_TIMEOUT_MS))
          .catch((err: unknown) =>
            deps.logger.error(`releasing ${m.id}: ${errorMessage(err)}; run 'benchyard gc'`),
          ),
      ),
    );
  }
  return reports;
}

/** A cloud target: what its provider says its machines have, against the requirements. */
async function judgeType(
  spec: TargetSpec,
  provider: Provider,
  needed: Needed[],
  opts: PreflightOptions,
  signal: AbortSignal,
): Promise<DoctorReport> {
  const machine = `${spec.provider} (not provisioned)`;
  try {
    const preflight = (await provider.preflight?.(spec, signal, opts)) ?? [];
    if (preflight.some((c) => c.status === 'fail')) return { target: spec.name, machine, checks: preflight };
    const facts = await provider.describe?.(spec, signal);
    return {
      target: spec.name,
      machine,
      checks: [
        ...preflight,
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
    };
  } catch (err) {
    return {
      target: spec.name,
      machine,
      checks: [{ check: `${spec.provider} API`, status: 'fail', detail: errorMessage(err) }],
    };
  }
}

async function checkMachine(
  spec: TargetSpec,
  machine: Machine,
  needed: readonly Needed[],
  deps: DoctorDeps,
): Promise<DoctorReport> {
  try {
    const docker = dockerOf(machine.engine);
    if (!docker)
      throw new InfrastructureError(
        `doctor probes Docker engines; ${machine.id} runs a ${machine.engine.kind} engine`,
      );
    if (machine.ssh)
      await shipImage(deps.controller, docker, PROBE_IMAGE, machine.id, { signal: deps.signal });
    const devices = [
      ...new Set(
        needed.flatMap((n) =>
          [...n.requires.devices, ...(n.requires.fpga?.devices ?? [])].map((d) => d.host),
        ),
      ),
    ];
    const probe = await probeMachine(docker, {
      image: PROBE_IMAGE,
      devices,
      gpu: needed.some((n) => n.requires.gpu),
      signal: deps.signal,
      logger: deps.logger,
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

function describeFacts(f: NonNullable<Awaited<ReturnType<NonNullable<Provider['describe']>>>>): string {
  const list = (xs: readonly { model: string; count: number }[] | undefined, what: string) =>
    xs === undefined
      ? ''
      : `${what}: ${xs.length ? xs.map((x) => `${x.count}× ${x.model}`).join(', ') : 'none'}`;
  return [list(f.gpus, 'GPUs'), list(f.fpgas, 'FPGAs')].filter(Boolean).join('; ') || 'answered';
}

/**
 * Placement before a run: asks each target's provider what its machines have (without
 * acquiring one) and drops the cells whose requirements they cannot meet, saying why.
 */
import { InfrastructureError, type Logger, type Provider, type TargetFacts } from '../core/index.js';
import { placeByRequirements, type Plan, type SkippedCell } from '../plan/index.js';

/** What the targets that have cells with requirements are known to have. */
export async function describeTargets(
  plan: Plan,
  providers: ReadonlyMap<string, Provider>,
  logger: Logger,
  signal: AbortSignal,
): Promise<Map<string, TargetFacts | undefined>> {
  const facts = new Map<string, TargetFacts | undefined>();
  const targets = new Map(
    plan.cells.filter((c) => hasRequirements(c.requires)).map((c) => [c.target.name, c.target]),
  );
  await Promise.all(
    [...targets.values()].map(async (target) => {
      const provider = providers.get(target.provider);
      try {
        facts.set(target.name, await provider?.describe?.(target, signal));
      } catch (err) {
        signal.throwIfAborted();
        logger.warn(
          `target '${target.name}': what its machines have is not known (${String(err)}); requirements are checked when its machines start the containers`,
        );
      }
    }),
  );
  return facts;
}

/**
 * The plan with only the cells their targets can run. Skipped cells are reported; a plan
 * left with no cell at all is an infrastructure error (exit 3): nothing can be measured.
 */
export async function place(
  plan: Plan,
  providers: ReadonlyMap<string, Provider>,
  logger: Logger,
  signal: AbortSignal,
): Promise<{ plan: Plan; skipped: SkippedCell[] }> {
  const placed = withGpusPerMachine(
    placeByRequirements(plan, await describeTargets(plan, providers, logger, signal)),
  );
  for (const s of placed.skipped)
    logger.warn(`skipping ${s.cell.entry} [${s.cell.id}] on target '${s.cell.target.name}': ${s.reason}`);
  if (placed.plan.cells.length === 0 && placed.skipped.length > 0)
    throw new InfrastructureError(
      `no cell of the matrix can run: ${[...new Set(placed.skipped.map((s) => `target '${s.cell.target.name}' ${s.reason}`))].join('; ')}`,
      { skipped: placed.skipped.length },
    );
  return placed;
}

function hasRequirements(r: Plan['cells'][number]['requires']): boolean {
  return Boolean(r.gpu || r.fpga || r.devices.length);
}

/** Each target, on its cells, with the most GPUs one of them asks for (`TargetSpec.gpusPerMachine`). */
function withGpusPerMachine<T extends { plan: Plan }>(placed: T): T {
  const most = new Map<string, number>();
  for (const c of placed.plan.cells) {
    const n = typeof c.requires.gpu?.count === 'number' ? c.requires.gpu.count : 0;
    most.set(c.target.name, Math.max(most.get(c.target.name) ?? 0, n));
  }
  const targets = new Map<string, Plan['cells'][number]['target']>();
  const cells = placed.plan.cells.map((c) => {
    const n = most.get(c.target.name) ?? 0;
    if (n === 0) return c;
    let t = targets.get(c.target.name);
    if (!t) targets.set(c.target.name, (t = { ...c.target, gpusPerMachine: n }));
    return { ...c, target: t };
  });
  return { ...placed, plan: { ...placed.plan, cells } };
}

/** Which targets `doctor` looks at, each with what its cells require. */
import stringify from 'safe-stable-stringify';
import { InputError, type MatrixCell, type TargetSpec } from '../core/index.js';
import type { Plan } from '../plan/index.js';
import type { Needed } from './checks.js';

/** A target and the distinct requirement sets of its cells. */
export interface DoctorTarget {
  spec: TargetSpec;
  needed: Needed[];
  /** The run's registry: where this machine pushes, where the target's machines pull. */
  registry?: { push: string; pull: string };
}

/** Without a matrix: this machine, requiring nothing. */
export const THIS_MACHINE: DoctorTarget = {
  spec: { name: 'local', provider: 'local', options: {} },
  needed: [],
};

/** Each target of the matrix with the distinct requirement sets of its cells. */
export function matrixTargets(targets: readonly TargetSpec[], plan: Plan): DoctorTarget[] {
  return targets.map((spec) => ({
    spec,
    needed: distinctRequirements(plan.cells.filter((c) => c.target.name === spec.name)),
    ...(plan.registry ? { registry: { push: plan.registry, pull: spec.registry ?? plan.registry } } : {}),
  }));
}

/** The targets named (`--target`; none: all); a name the matrix lacks is an InputError. */
export function chooseTargets(
  targets: readonly DoctorTarget[],
  names: readonly string[] | undefined,
): DoctorTarget[] {
  if (!names?.length) return [...targets];
  const chosen = targets.filter((t) => names.includes(t.spec.name));
  if (chosen.length !== names.length)
    throw new InputError(
      `--target: no target ${names.filter((n) => !targets.some((t) => t.spec.name === n)).join(', ')} in the matrix (targets: ${targets.map((t) => t.spec.name).join(', ')})`,
    );
  return chosen;
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

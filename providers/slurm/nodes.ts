/**
 * What one allocation of a slurm target can have, from the partition's nodes (`sinfo -N`):
 * placement skips the cells no allocation can run before anything is submitted.
 */
import type { AcceleratorInfo, TargetFacts } from '../../src/core/index.js';
import type { SlurmTargetOptions } from '../../src/config/targets/slurm.js';
import { parseConfiguredGres, type NodeInfo } from './commands.js';

/** States in which a node takes no job now or later without an administrator. */
const GONE = /^(down|drain|drained|draining|fail|failing|future|inval|maint|reboot|unknown)/i;

/**
 * Whether the target's jobs could ever land on the node: not excluded, not down, and
 * with the features a simple constraint (`a&b`, `a,b`) names. A constraint Slurm's full
 * grammar is needed for (`|`, counts, brackets) keeps every node: Slurm decides.
 */
export function nodeFits(n: NodeInfo, o: Pick<SlurmTargetOptions, 'exclude' | 'constraint'>): boolean {
  if (GONE.test(n.state.replace(/[*~#!%$@^-]+$/, ''))) return false;
  if (o.exclude?.split(',').includes(n.name)) return false;
  if (o.constraint && /^[A-Za-z0-9_.-]+([&,][A-Za-z0-9_.-]+)*$/.test(o.constraint))
    return o.constraint.split(/[&,]/).every((f) => n.features.includes(f));
  return true;
}

/**
 * One allocation's GPUs: what the target's `gres` asks for, where some node has that many;
 * without `gres`, what the largest node has of each type (a holder job then asks for as many
 * GPUs as the most demanding cell: `TargetSpec.gpusPerMachine`).
 */
export function describeNodes(nodes: readonly NodeInfo[], o: Pick<SlurmTargetOptions, 'gres'>): TargetFacts {
  const asked = parseConfiguredGres(o.gres ?? '').filter((g) => g.name === 'gpu');
  if (asked.length === 0) {
    const most = new Map<string, number>();
    for (const n of nodes)
      for (const g of n.gres.filter((x) => x.name === 'gpu'))
        most.set(g.type ?? 'gpu', Math.max(most.get(g.type ?? 'gpu') ?? 0, g.count));
    return { gpus: [...most].map(([model, count]) => ({ model, count })) };
  }
  const gpus: AcceleratorInfo[] = [];
  for (const want of asked) {
    const fits = nodes.some((n) =>
      n.gres.some((g) => g.name === 'gpu' && (!want.type || g.type === want.type) && g.count >= want.count),
    );
    if (!fits) continue;
    const types = new Set(
      nodes.flatMap((n) => n.gres.filter((g) => g.name === 'gpu' && g.type).map((g) => g.type!)),
    );
    gpus.push({ model: want.type ?? (types.size === 1 ? [...types][0]! : 'gpu'), count: want.count });
  }
  return { gpus };
}

/** What a slurm target asks Slurm for, once per holder job (and once, `--test-only`, for doctor). */
import type { TargetSpec } from '../../src/core/index.js';
import type { SlurmTargetOptions } from '../../src/config/targets/slurm.js';
import type { HolderRequest } from './commands.js';

/** The holder job of a target, named and commented as `who` says. */
export function holderRequest(target: TargetSpec, who: { name: string; comment: string }): HolderRequest {
  const o = target.options as SlurmTargetOptions;
  return {
    ...who,
    partition: o.partition,
    account: o.account,
    qos: o.qos,
    reservation: o.reservation,
    constraint: o.constraint,
    exclude: o.exclude,
    gres: gresOf(target, o),
    exclusive: o.exclusive,
    cpus: o.cpus,
    memory: o.memory,
    timeLimitMs: o.timeLimit,
  };
}

/** The target's GRES, or as many GPUs as its most demanding cell asks for. */
function gresOf(target: TargetSpec, options: SlurmTargetOptions): string | undefined {
  return options.gres ?? (target.gpusPerMachine ? `gpu:${target.gpusPerMachine}` : undefined);
}

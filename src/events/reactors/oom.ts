/**
 * The OOM killer struck in a container: annotate the repetition with the memory limit it
 * hit. The `oom` event comes before `die`, while the container still exists; a `die` with
 * `State.OOMKilled` covers an `oom` event that was missed. One annotation per container.
 */
import type { ReactorOutcome } from '../model.js';
import { IGNORED, containerKey, type Reactor, type ReactorContext } from '../reactor.js';
import { RecentSet } from '../recent-set.js';
import { inspectContainer } from './container-lookup.js';

export function oomReactor(ctx: ReactorContext): Reactor {
  const annotated = new RecentSet();
  return {
    name: 'oom',
    async handle(event): Promise<ReactorOutcome> {
      const isOom = event.action === 'oom';
      // An OOM-killed container exits non-zero (137): a clean exit needs no look.
      if (!isOom && !(event.action === 'die' && event.exitCode)) return IGNORED;
      if (annotated.has(containerKey(event))) return IGNORED;
      const lookup = await inspectContainer(ctx, event);
      if (!isOom && !(lookup.found && lookup.info.State?.OOMKilled)) return IGNORED;
      annotated.add(containerKey(event));
      const limit = lookup.found ? lookup.info.HostConfig?.Memory || undefined : undefined;
      return {
        kind: 'annotated',
        annotation: {
          reactor: 'oom',
          classification: 'oom',
          message: `killed by the OOM killer (memory limit ${limit ? formatBytes(limit) : 'unknown'})`,
          machineId: event.machineId,
          containerId: event.containerId,
          timestamp: event.timestamp,
          ...(event.exitCode !== undefined ? { exitCode: event.exitCode } : {}),
          ...(limit ? { memoryLimitBytes: limit } : {}),
        },
      };
    },
  };
}

/** `8388608` → `8 MiB`; `1500000000` → `1.4 GiB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${Number.isInteger(value) ? value : value.toFixed(1)} ${units[unit]}`;
}

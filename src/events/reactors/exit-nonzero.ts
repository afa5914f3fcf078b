/**
 * A container died with a non-zero exit code (and not at the OOM killer's hand, which the
 * `oom` reactor reports): classify the exit and keep the end of its log, if it can still
 * be read.
 */
import type { FailureKind, ReactorOutcome } from '../model.js';
import { IGNORED, containerKey, type Reactor, type ReactorContext } from '../reactor.js';
import { RecentSet } from '../recent-set.js';
import { inspectContainer, readLogTail, type LogTailOptions } from './container-lookup.js';

/** Exit codes that say how a process ended (128 + signal, and the shell's own two). */
const EXIT_CLASSES: Readonly<Record<number, { classification: FailureKind; description: string }>> = {
  126: {
    classification: 'not-runnable',
    description: 'command not runnable (not executable or permission denied)',
  },
  127: { classification: 'not-found', description: 'command not found' },
  134: { classification: 'abort', description: 'aborted (SIGABRT)' },
  137: { classification: 'killed', description: 'killed (SIGKILL)' },
  139: { classification: 'segfault', description: 'segmentation fault (SIGSEGV)' },
  143: { classification: 'terminated', description: 'terminated (SIGTERM)' },
};

/** What an exit code says; an OOM kill (exit 137 too) is told apart by the engine's `OOMKilled`. */
export function classifyExit(
  exitCode: number,
  oomKilled = false,
): { classification: FailureKind; description: string } {
  if (oomKilled) return { classification: 'oom', description: 'killed by the OOM killer' };
  return EXIT_CLASSES[exitCode] ?? { classification: 'benchmark-error', description: 'benchmark error' };
}

export type ExitNonzeroOptions = LogTailOptions;

export function exitNonzeroReactor(ctx: ReactorContext, opts: ExitNonzeroOptions = {}): Reactor {
  // The engine reports `oom` before `die`; the container may be gone by the time `die` is handled.
  const oomKilled = new RecentSet();
  return {
    name: 'exit-nonzero',
    async handle(event): Promise<ReactorOutcome> {
      if (event.action === 'oom') oomKilled.add(containerKey(event));
      if (event.action !== 'die' || !event.exitCode) return IGNORED;
      const lookup = await inspectContainer(ctx, event);
      if (oomKilled.has(containerKey(event)) || (lookup.found && lookup.info.State?.OOMKilled))
        return IGNORED;
      const { classification, description } = classifyExit(event.exitCode);
      const tail = lookup.found
        ? await readLogTail(lookup.docker, lookup.info, opts)
        : { reason: lookup.reason };
      return {
        kind: 'annotated',
        annotation: {
          reactor: 'exit-nonzero',
          classification,
          message: `exited with code ${event.exitCode}: ${description}`,
          machineId: event.machineId,
          containerId: event.containerId,
          timestamp: event.timestamp,
          exitCode: event.exitCode,
          ...('text' in tail ? { logTail: tail.text } : { logTailMissing: tail.reason }),
        },
      };
    },
  };
}

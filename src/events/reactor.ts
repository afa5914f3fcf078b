/**
 * What a reactor is, and how one is put on the bus. A reactor is one file in
 * `reactors/`: a factory `(ctx, options?) => Reactor` that looks at each event and says
 * what it did; `attachReactor` hands its annotations to the scheduler's port.
 */
import type Docker from 'dockerode';
import type { Clock, Logger } from '../core/index.js';
import type { EventBus } from './bus.js';
import type { AnnotationPort, ContainerEvent, ReactorOutcome } from './model.js';

export interface Reactor {
  readonly name: string;
  handle(event: ContainerEvent): ReactorOutcome | Promise<ReactorOutcome>;
  /** Finishes or gives up work started in the background, then stops. Idempotent. */
  close?(): Promise<void>;
}

/** What every reactor may use. */
export interface ReactorContext {
  /** The Docker engine of the machine an event came from; undefined once the machine is gone. */
  dockerFor(machineId: string): Docker | undefined;
  /** The kind of a followed machine's engine that is not Docker's (`kubernetes`); undefined otherwise. */
  otherEngine?(machineId: string): string | undefined;
  clock: Clock;
  logger: Logger;
}

export const IGNORED: ReactorOutcome = Object.freeze({ kind: 'ignored' });

export interface AttachOptions {
  /** Receives annotations of events that carry a run, cell and repetition. */
  annotations?: AnnotationPort;
  /** Every outcome, e.g. for tests and progress output. */
  onOutcome?: (reactor: string, event: ContainerEvent, outcome: ReactorOutcome) => void;
  logger: Logger;
}

/** Subscribes the reactor; the returned function unsubscribes it. */
export function attachReactor(
  bus: EventBus<ContainerEvent>,
  reactor: Reactor,
  opts: AttachOptions,
): () => void {
  return bus.subscribe(reactor.name, async (event) => {
    const outcome = await reactor.handle(event);
    opts.onOutcome?.(reactor.name, event, outcome);
    if (outcome.kind !== 'annotated') return;
    const { runId, cellId, repetition } = event;
    const where = runId ? ` (${runId}/${cellId}/${repetition})` : '';
    opts.logger.info(`container ${event.containerId.slice(0, 12)}${where}: ${outcome.annotation.message}`, {
      machine: event.machineId,
      reactor: reactor.name,
    });
    if (opts.annotations && runId && cellId && repetition !== undefined)
      await opts.annotations.onAnnotation(runId, cellId, repetition, outcome.annotation);
  });
}

/** `machineId:containerId`, the identity of a container across machines. */
export const containerKey = (event: ContainerEvent): string => `${event.machineId}:${event.containerId}`;

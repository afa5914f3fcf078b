/**
 * The records of the events module: a container event as one machine's Docker engine
 * reported it, what a reactor made of it, and the ports events and annotations leave by.
 * Imports nothing: the stores take these types without depending on the module's code.
 */

/** Container actions the engine reports (`docker events --filter type=container`). */
/** The container's life: what a webhook can ask to hear about. */
export const LIFECYCLE_ACTIONS = [
  'create',
  'start',
  'die',
  'oom',
  'kill',
  'stop',
  'destroy',
  'pause',
  'unpause',
  'restart',
] as const;

export const CONTAINER_ACTIONS = [
  ...LIFECYCLE_ACTIONS,
  'attach',
  'detach',
  'rename',
  'update',
  'health_status',
  'exec_create',
  'exec_start',
  'exec_die',
] as const;

export type KnownContainerAction = (typeof CONTAINER_ACTIONS)[number];
/** A known action, or another one a newer engine reports (kept as the engine spells it). */
export type ContainerAction = KnownContainerAction | (string & Record<never, never>);

/** One container event of one machine, with the benchyard labels of the container. */
export interface ContainerEvent {
  /** The machine whose engine reported it (`Machine.id`). */
  machineId: string;
  /** The machine's host name (`Machine.hostname`). */
  host: string;
  containerId: string;
  /** Container name, without the engine's leading `/`. */
  name: string;
  image?: string;
  /** Without the detail some actions carry (`exec_start: sh -c …` is `exec_start`). */
  action: ContainerAction;
  /** `die` only. */
  exitCode?: number;
  /** `kill` only: the signal sent, as the engine reports it (`9`, `SIGTERM`). */
  signal?: string;
  /** Engine time in nanoseconds since the epoch, as decimal digits (a double cannot hold it). */
  timeNano: string;
  /** Engine time in milliseconds since the epoch. */
  timestamp: number;
  /** `io.benchyard.session` of the container. */
  session: string;
  /** `io.benchyard.run`, `.cell`, `.repetition`: absent on containers that run no repetition. */
  runId?: string;
  cellId?: string;
  repetition?: number;
}

/** What went wrong with a container, as a reactor classified it. */
export type FailureKind =
  'benchmark-error' | 'killed' | 'terminated' | 'segfault' | 'abort' | 'not-runnable' | 'not-found' | 'oom';

/** A note about a repetition, from a reactor; the scheduler attaches it to the result. */
export interface Annotation {
  /** The reactor that made it. */
  reactor: string;
  classification: FailureKind;
  /** One line for people, e.g. `exited with code 3: benchmark error`. */
  message: string;
  machineId: string;
  containerId: string;
  /** Engine time of the event it was made from, ms since the epoch. */
  timestamp: number;
  exitCode?: number;
  memoryLimitBytes?: number;
  /**
   * The last lines the container wrote, redacted: stdout and stderr as the engine logged
   * them (it copies the two apart, so their order against each other is approximate).
   */
  logTail?: string;
  /** Why there is no log tail (e.g. the container was already removed). */
  logTailMissing?: string;
}

/** What a reactor did with one event. */
export type ReactorOutcome =
  | { kind: 'ignored' }
  | { kind: 'annotated'; annotation: Annotation }
  /** Handed to work that goes on in the background (a webhook delivery). */
  | { kind: 'queued' };

/** Where annotations go: the scheduler, which attaches them to the repetition's result. */
export interface AnnotationPort {
  onAnnotation(
    runId: string,
    cellId: string,
    repetition: number,
    annotation: Annotation,
  ): void | Promise<void>;
}

/**
 * Stores events. `record` takes them synchronously (a remote store batches them);
 * `flush` resolves once everything recorded so far is stored (or durably spooled).
 */
export interface EventSink {
  record(events: readonly ContainerEvent[]): void;
  flush(): Promise<void>;
}

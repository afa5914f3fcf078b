/**
 * The JSON-lines progress stream a Docker engine answers a push or a pull with, read to its
 * end. A line with `error`/`errorDetail` is how the engine reports a failure after the
 * HTTP 200 has gone out, so it becomes an EngineStreamError; the layer lines are tallied,
 * which is how a caller can tell what moved and what the other side already had.
 */

export interface ProgressEvent {
  id?: string;
  status?: string;
  progress?: string;
  /** Push: the pushed manifest's digest and size. */
  aux?: { Tag?: string; Digest?: string; Size?: number };
  error?: string;
  errorDetail?: { code?: number; message?: string };
}

/** A failure the engine reported inside its progress stream. */
export class EngineStreamError extends Error {
  constructor(
    message: string,
    readonly code?: number,
  ) {
    super(message);
    this.name = 'EngineStreamError';
  }
}

export interface LayerTally {
  /** Layers whose bytes went over the wire (push: `Pushed`; pull: `Pull complete`). */
  moved: number;
  /** Layers the other side had (`Layer already exists`, `Mounted from …`, `Already exists`). */
  skipped: number;
}

const MOVED = /^(Pushed|Pull complete)$/;
const SKIPPED = /^(Layer already exists|Mounted from .*|Already exists)$/;

/** Counts each layer id once, by its final state. */
export function tallyLayers(events: Iterable<ProgressEvent>): LayerTally {
  const final = new Map<string, 'moved' | 'skipped'>();
  for (const e of events) {
    if (!e.id || !e.status) continue;
    if (MOVED.test(e.status)) final.set(e.id, 'moved');
    else if (SKIPPED.test(e.status)) final.set(e.id, 'skipped');
  }
  const values = [...final.values()];
  return {
    moved: values.filter((v) => v === 'moved').length,
    skipped: values.filter((v) => v === 'skipped').length,
  };
}

/**
 * Reads `stream` to its end and returns the events that are not mere progress bars (those
 * arrive several times a second per layer and say nothing afterwards).
 */
export async function readProgress(
  stream: NodeJS.ReadableStream,
  onEvent?: (e: ProgressEvent) => void,
): Promise<ProgressEvent[]> {
  const kept: ProgressEvent[] = [];
  let failure: EngineStreamError | undefined;
  let buffer = '';
  const take = (line: string) => {
    const text = line.trim();
    if (!text) return;
    let e: ProgressEvent;
    try {
      e = JSON.parse(text) as ProgressEvent;
    } catch {
      e = { status: text };
    }
    onEvent?.(e);
    if (e.error || e.errorDetail)
      failure ??= new EngineStreamError(
        e.errorDetail?.message ?? e.error ?? 'unknown error',
        e.errorDetail?.code,
      );
    if (!e.progress) kept.push(e);
  };
  for await (const chunk of stream) {
    buffer += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      take(buffer.slice(0, nl));
      buffer = buffer.slice(nl + 1);
    }
  }
  take(buffer);
  if (failure) throw failure;
  return kept;
}

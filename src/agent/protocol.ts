/**
 * What the controller and the benchyard agent say to each other: one JSON object per
 * line, commands on the agent's stdin, replies and sample batches on its stdout, over the
 * connection the controller already holds to the machine's engine (Docker's attach stream,
 * a pod's attach websocket: an `AgentChannel`).
 */
import type { MetricSample, MetricsSummary } from '../core/index.js';
import type { SampleContext } from '../metrics/index.js';

/** v2: `quiesce` / `resume` (control repetitions run with the agent's sampling off). */
export const PROTOCOL_VERSION = 2;

export type Command =
  | { op: 'start'; runId: string }
  | { op: 'watch'; ctx: SampleContext; id: string; pid: number }
  | { op: 'finish'; id: string }
  | { op: 'quiesce' }
  | { op: 'resume' }
  | { op: 'stop' };

export type Reply =
  | { t: 'ready'; version: number; node: string }
  | { t: 'samples'; samples: MetricSample[] }
  | { t: 'summary'; id: string; summary: MetricsSummary }
  | { t: 'quiesced'; ok: boolean }
  | { t: 'stopped' }
  | { t: 'error'; message: string };

/** Splits a byte stream into lines and hands each parsed object over; malformed lines go to `onBad`. */
export function lineReader<T>(onMessage: (m: T) => void, onBad: (line: string) => void) {
  let partial = '';
  return (chunk: Buffer | string) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      if (line.trim() === '') continue;
      try {
        onMessage(JSON.parse(line) as T);
      } catch {
        onBad(line);
      }
    }
  };
}

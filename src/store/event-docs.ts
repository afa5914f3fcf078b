/** Container events as `benchyard-events` documents (see elasticsearch-templates.ts). */
import type { ContainerEvent } from '../events/model.js';

/** One document per event and machine: a re-sent event overwrites itself. */
export function eventId(e: ContainerEvent): string {
  return `${e.machineId}:${e.containerId}:${e.timeNano}:${e.action}`;
}

export function eventDoc(e: ContainerEvent): Record<string, unknown> {
  return {
    '@timestamp': isoNanos(e.timeNano),
    event: { action: e.action },
    host: { name: e.host },
    machine: { id: e.machineId },
    container: { id: e.containerId, name: e.name, ...(e.image ? { image: { name: e.image } } : {}) },
    ...(e.exitCode !== undefined ? { exit_code: e.exitCode } : {}),
    ...(e.signal ? { signal: e.signal } : {}),
    session: { id: e.session },
    ...(e.runId ? { run: { id: e.runId } } : {}),
    ...(e.cellId ? { cell: { id: e.cellId } } : {}),
    ...(e.repetition !== undefined ? { repetition: e.repetition } : {}),
  };
}

/** `1795869431829095670` → `2026-11-28T12:37:11.829095670Z` (a `date_nanos` keeps every digit). */
export function isoNanos(timeNano: string): string {
  const ns = BigInt(timeNano);
  const seconds = new Date(Number(ns / 1_000_000_000n) * 1000).toISOString().slice(0, 19);
  return `${seconds}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}Z`;
}

/** One line of the engine's `/events` stream → a `ContainerEvent` (or nothing, if it is not one). */
import { LABELS, type EngineEvent } from '../core/index.js';
import type { ContainerEvent } from './model.js';

interface EngineMessage {
  Type?: unknown;
  Action?: unknown;
  Actor?: { ID?: unknown; Attributes?: Record<string, unknown> };
}

/**
 * The engine's `timeNano` has 19 digits, more than a double holds exactly, so it is read
 * from the text. Attribute values are strings, so `"timeNano":<digits>` is the top-level field.
 */
const TIME_NANO = /"timeNano":(\d+)/g;

export function parseEngineEvent(line: string, machineId: string, host: string): ContainerEvent | undefined {
  let msg: EngineMessage;
  try {
    msg = JSON.parse(line) as EngineMessage;
  } catch {
    return undefined;
  }
  if (!msg || typeof msg !== 'object' || msg.Type !== 'container') return undefined;
  const id = msg.Actor?.ID;
  const attrs = msg.Actor?.Attributes ?? {};
  const timeNano = [...line.matchAll(TIME_NANO)].at(-1)?.[1];
  if (typeof id !== 'string' || typeof msg.Action !== 'string' || !timeNano) return undefined;
  // `exec_start: sh -c …`, `health_status: healthy`: the detail may hold anything, a secret included.
  const action = msg.Action.split(':')[0]!.trim();
  return containerEvent(id, action, attrs, timeNano, machineId, host);
}

/**
 * An event an engine other than Docker reported (`Engine.events`: a pod's life) → a
 * `ContainerEvent`, read like Docker's: labels, name, image and exit code as attributes.
 */
export function fromEngineEvent(e: EngineEvent, machineId: string, host: string): ContainerEvent {
  const attrs: Record<string, unknown> = {
    ...e.labels,
    name: e.name,
    ...(e.image ? { image: e.image } : {}),
    ...(e.exitCode !== undefined ? { exitCode: String(e.exitCode) } : {}),
  };
  return containerEvent(
    e.containerId,
    e.action,
    attrs,
    String(BigInt(Math.round(e.timestamp)) * 1_000_000n),
    machineId,
    host,
  );
}

function containerEvent(
  id: string,
  action: string,
  attrs: Record<string, unknown>,
  timeNano: string,
  machineId: string,
  host: string,
): ContainerEvent {
  const text = (key: string) => (typeof attrs[key] === 'string' ? (attrs[key] as string) : undefined);
  const int = (key: string) => {
    const v = text(key);
    return v !== undefined && /^-?\d+$/.test(v) ? Number(v) : undefined;
  };
  const exitCode = action === 'die' ? int('exitCode') : undefined;
  const signal = action === 'kill' ? text('signal') : undefined;
  const image = text('image');
  const runId = text(LABELS.run);
  const cellId = text(LABELS.cell);
  const repetition = int(LABELS.repetition);
  return {
    machineId,
    host,
    containerId: id,
    name: (text('name') ?? '').replace(/^\//, ''),
    ...(image ? { image } : {}),
    action,
    ...(exitCode !== undefined ? { exitCode } : {}),
    ...(signal ? { signal } : {}),
    timeNano,
    timestamp: Number(BigInt(timeNano) / 1_000_000n),
    session: text(LABELS.session) ?? '',
    ...(runId ? { runId } : {}),
    ...(cellId ? { cellId } : {}),
    ...(repetition !== undefined ? { repetition } : {}),
  };
}

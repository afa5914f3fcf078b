/**
 * Reading a container a reactor heard about. It may be gone by then (the scheduler removes
 * each container once it has what it needs), so every read says why it has nothing.
 */
import type Docker from 'dockerode';
import { redact } from '../../core/index.js';
import { dockerMessage, statusOf } from '../../engine/index.js';
import type { ContainerEvent } from '../model.js';
import type { ReactorContext } from '../reactor.js';

/** How long one read of the engine may take. */
const REQUEST_TIMEOUT_MS = 10_000;

export type Lookup =
  { found: true; docker: Docker; info: Docker.ContainerInspectInfo } | { found: false; reason: string };

export async function inspectContainer(ctx: ReactorContext, event: ContainerEvent): Promise<Lookup> {
  const docker = ctx.dockerFor(event.machineId);
  const other = docker ? undefined : ctx.otherEngine?.(event.machineId);
  if (other)
    return {
      found: false,
      reason: `a ${other} engine's containers cannot be read here: the repetition's output has the log`,
    };
  if (!docker) return { found: false, reason: `machine ${event.machineId} is no longer reachable` };
  try {
    const info = await docker
      .getContainer(event.containerId)
      .inspect({ abortSignal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    return { found: true, docker, info };
  } catch (err) {
    return { found: false, reason: goneReason(err, 'inspecting') };
  }
}

export interface LogTailOptions {
  /** @default 50 */
  lines?: number;
  /** Most bytes kept, from the end. @default 16 KiB */
  maxBytes?: number;
}

/** The container's last lines (stdout and stderr, in the engine's log order), redacted. */
export async function readLogTail(
  docker: Docker,
  info: Docker.ContainerInspectInfo,
  opts: LogTailOptions = {},
): Promise<{ text: string } | { reason: string }> {
  const lines = opts.lines ?? 50;
  try {
    // Not `follow`: the engine answers with at most `tail` lines (each ≤ 16 KiB in its log), so this is bounded.
    const out: unknown = await docker.getContainer(info.Id).logs({
      follow: false,
      stdout: true,
      stderr: true,
      tail: lines,
      abortSignal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    // docker-modem hands back parsed JSON when the bytes happen to be JSON (a TTY's raw output).
    const raw = Buffer.isBuffer(out) ? out : Buffer.from(typeof out === 'string' ? out : JSON.stringify(out));
    const text = (info.Config?.Tty ? raw : demux(raw)).toString('utf8');
    const kept = text.replace(/\n$/, '').split('\n').slice(-lines).join('\n');
    const maxBytes = opts.maxBytes ?? 16 * 1024;
    return { text: redact(kept.length > maxBytes ? kept.slice(-maxBytes) : kept) };
  } catch (err) {
    return { reason: goneReason(err, 'reading its log') };
  }
}

/** Payloads of the engine's multiplexed log frames: `[stream, 0, 0, 0, size (u32 BE)]` + bytes. */
export function demux(buf: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  while (at + 8 <= buf.length) {
    const stream = buf[at]!;
    if (stream > 2 || buf[at + 1] !== 0 || buf[at + 2] !== 0 || buf[at + 3] !== 0) break;
    const size = buf.readUInt32BE(at + 4);
    parts.push(buf.subarray(at + 8, Math.min(buf.length, at + 8 + size)));
    at += 8 + size;
  }
  // Not framed after all (a TTY, or a log driver that answers raw): take the rest as it is.
  if (at < buf.length && parts.length === 0) return buf;
  return Buffer.concat(parts);
}

function goneReason(err: unknown, doing: string): string {
  return statusOf(err) === 404
    ? 'the container was already removed'
    : `${doing} failed: ${dockerMessage(err)}`;
}

/** Turns dockerode/docker-modem errors into messages a user can act on. */
import { InfrastructureError } from '../core/index.js';

interface ModemError {
  statusCode?: number;
  reason?: string;
  json?: { message?: string } | null;
  code?: string;
  message?: string;
}

export function dockerMessage(err: unknown): string {
  const e = err as ModemError;
  const detail = e?.json?.message ?? e?.reason ?? e?.message ?? String(err);
  return e?.statusCode ? `${detail} (HTTP ${e.statusCode})` : detail;
}

export function statusOf(err: unknown): number | undefined {
  return (err as ModemError)?.statusCode;
}

/** Docker could not be reached at all (socket missing, connection refused). */
export function isUnreachable(err: unknown): boolean {
  const code = (err as ModemError)?.code;
  return code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'EACCES' || code === 'ECONNRESET';
}

export function dockerFailure(
  action: string,
  err: unknown,
  meta: Record<string, unknown> = {},
): InfrastructureError {
  return new InfrastructureError(
    `${action}: ${dockerMessage(err)}`,
    { ...meta, statusCode: statusOf(err) },
    { cause: err },
  );
}

/**
 * The error hierarchy. Every error benchyard raises on purpose is a BenchyardError with a
 * `kind`; `src/cli/exit-codes.ts` is the one place a kind becomes an exit code.
 * Messages and meta are redacted at construction so a secret never reaches a log line.
 */
import { redact, redactValue } from './redact.js';
import { describeHolder, type LeaseHolder } from './lease.js';

export type ErrorKind = 'input' | 'benchmark' | 'infrastructure' | 'cancelled';

export abstract class BenchyardError extends Error {
  abstract readonly kind: ErrorKind;
  readonly meta: Record<string, unknown>;

  constructor(message: string, meta: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(redact(message), options);
    this.name = new.target.name;
    this.meta = redactValue(meta) as Record<string, unknown>;
  }
}

/** One problem in a user's file, located as precisely as the source allows. */
export interface Diagnostic {
  file: string;
  line: number;
  col: number;
  /** Dotted path into the document, e.g. `benchmarks[0].params.threads`. */
  path: string;
  message: string;
}

export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}:${d.col}: ${d.message}${d.path ? ` (at ${d.path})` : ''}`;
}

/** Bad input from the user: a matrix, a flag, a missing file. Nothing was started. */
export class InputError extends BenchyardError {
  readonly kind = 'input' as const;
}

/** A matrix (or other config file) that failed validation; carries every problem found. */
export class ConfigError extends InputError {
  readonly diagnostics: readonly Diagnostic[];
  constructor(diagnostics: readonly Diagnostic[]) {
    super(diagnostics.map(formatDiagnostic).join('\n'), { count: diagnostics.length });
    this.diagnostics = diagnostics;
  }
}

/** The machinery failed: Docker unreachable, an image missing, a store down. */
export class InfrastructureError extends BenchyardError {
  readonly kind = 'infrastructure' as const;
}

/**
 * A provider could not create a machine. The class says what to try next: `CAPACITY`
 * another zone of the region, `QUOTA` another region; never another instance type.
 */
export class ProvisionError extends InfrastructureError {
  constructor(
    message: string,
    readonly failureClass: 'CAPACITY' | 'QUOTA' | 'INFRA',
    meta: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, meta, options);
  }
}

/**
 * benchyard was about to stop, delete, cancel or terminate something, and the object as the
 * provider returned it does not carry benchyard's identity (ledger key, session tag, host
 * name, container label): it was not touched. Never retried as if it were ours.
 */
export class OwnershipError extends InfrastructureError {}

/**
 * A machine that exists already (an SSH host, a pool member, this machine) is held by
 * another controller's lease: `busy` says which and who, as read from the machines.
 */
export class MachineBusyError extends InfrastructureError {
  constructor(
    readonly busy: readonly { machine: string; holder: LeaseHolder }[],
    meta: Record<string, unknown> = {},
  ) {
    super(busy.map((b) => `${b.machine} is held by ${describeHolder(b.holder)}`).join('; '), {
      ...meta,
      holders: busy,
    });
  }

  /** `waiting for lab-1, held by session … of owner … since …`. */
  get waiting(): string {
    return `waiting for ${this.busy.map((b) => `${b.machine}, held by ${describeHolder(b.holder)}`).join('; ')}`;
  }
}

/** The run completed but at least one benchmark repetition failed. */
export class BenchmarkFailedError extends BenchyardError {
  readonly kind = 'benchmark' as const;
}

/** The user (or a signal) cancelled the work. */
export class CancelledError extends BenchyardError {
  readonly kind = 'cancelled' as const;
  constructor(message = 'cancelled', meta: Record<string, unknown> = {}) {
    super(message, meta);
  }
}

export function isAbortError(err: unknown): boolean {
  return (
    err instanceof CancelledError ||
    (err instanceof Error && (err.name === 'AbortError' || (err as { code?: string }).code === 'ABORT_ERR'))
  );
}

export function errorMessage(err: unknown): string {
  return redact(err instanceof Error ? err.message : String(err));
}

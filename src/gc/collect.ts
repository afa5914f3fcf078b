/**
 * `gc`: finds what a crashed or killed controller left behind — open ledger entries, cloud
 * resources carrying benchyard's tags, runs still marked `running`, benchyard's containers
 * and leases on this machine's engine and on the engines of the state's SSH hosts —
 * destroys it, waits until the provider confirms it is gone, and only then closes the
 * ledger entry.
 *
 * Safe by default: what a controller still running holds is left alone; tagged resources
 * that no entry here knows about are only touched once their `benchyard:expires-at` has
 * passed (or with `session` / `all`); nothing is destroyed that does not carry
 * benchyard's identity as the provider returned it (the providers check it again before
 * any delete).
 */
import { InfrastructureError } from '../core/index.js';
import { sweepEngines } from './engines.js';
import type { GcDeps, GcReport, GcRequest } from './model.js';
import { orphanRuns } from './orphan-runs.js';
import { sweepProviders } from './provider-sweep.js';

export async function collectGarbage(req: GcRequest, deps: GcDeps, signal: AbortSignal): Promise<GcReport> {
  const providers = await sweepProviders(req, deps, signal);
  const runs = await orphanRuns(req, deps);
  const engines = await sweepEngines(req, deps, signal);
  return {
    rows: [...providers.rows, ...runs, ...engines.rows],
    failures: providers.failures + engines.failures,
  };
}

/** The error gc ends with where something could not be cleaned up (exit 3). */
export function gcFailure(report: GcReport): InfrastructureError | undefined {
  if (report.failures === 0) return undefined;
  return new InfrastructureError(`gc: ${report.failures} resources could not be cleaned up; run it again`);
}

/** How a run that ended ends for CI: failed repetitions before the gate. */
import { BenchmarkFailedError, InfrastructureError, type BenchyardError } from '../core/index.js';
import type { RunOutcome } from '../schedule/index.js';

/**
 * The error for failed repetitions: the infrastructure's (exit 3) where one of them failed
 * because of it, else the benchmark's (exit 1); undefined where every repetition passed.
 */
export function repetitionsFailure({ run, results }: RunOutcome): BenchyardError | undefined {
  const failed = results.filter((r) => r.status === 'failed');
  if (failed.some((r) => r.failureClass === 'INFRA'))
    return new InfrastructureError(
      `${failed.length} repetitions failed, some because of the infrastructure`,
      {
        runId: run.id,
      },
    );
  if (failed.length > 0)
    return new BenchmarkFailedError(`${failed.length} of ${results.length} repetitions failed`, {
      runId: run.id,
    });
  return undefined;
}

/**
 * A repetition's hardware health: the machine's snapshot before it, and after it the
 * judgement of what changed and what the samples between said (`judgeHealth`). A
 * repetition past the matrix's thresholds is recorded with its reasons as `suspect`.
 * Health that cannot be read never fails a repetition: it is not judged, and the log says so.
 */
import {
  DEFAULT_HEALTH_POLICY,
  errorMessage,
  type HealthPolicy,
  type Logger,
  type RepetitionResult,
} from '../core/index.js';
import { judgeHealth, type HealthSpan, type Monitor } from '../metrics/index.js';

export async function beginHealth(
  monitor: Monitor,
  policy: HealthPolicy | undefined,
  logger: Logger,
): Promise<HealthSpan | undefined> {
  if (!(policy ?? DEFAULT_HEALTH_POLICY).enabled || !monitor.health) return undefined;
  try {
    return await monitor.health.begin();
  } catch (err) {
    logger.warn(`hardware health not read before the repetition: ${errorMessage(err)}`);
    return undefined;
  }
}

/** The result with its `suspect` reasons, if any. */
export async function judged(
  result: RepetitionResult,
  span: HealthSpan | undefined,
  policy: HealthPolicy | undefined,
  logger: Logger,
): Promise<RepetitionResult> {
  if (!span) return result;
  const where = `repetition ${result.repetition} of ${result.cellId} on ${result.machineId}`;
  try {
    const suspect = judgeHealth(await span.end(), policy ?? DEFAULT_HEALTH_POLICY);
    if (suspect.length === 0) return result;
    logger.warn(`${where} is suspect (left out of statistics): ${suspect.join('; ')}`);
    return { ...result, suspect };
  } catch (err) {
    logger.warn(`${where}: hardware health not judged: ${errorMessage(err)}`);
    return result;
  }
}

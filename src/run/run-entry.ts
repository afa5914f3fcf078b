/**
 * The run itself in the ledger, like a machine: should this process die, `gc` finds the
 * entry, sees its controller gone and marks the run cancelled.
 */
import { errorMessage, type Logger, type Shard } from '../core/index.js';
import { RUN_LEDGER_PROVIDER } from '../gc/index.js';
import type { RunProviders, StateHealth } from './ports.js';

export function recordRunEntry(o: {
  ledger: RunProviders['ledger'];
  runId: string;
  shard: Shard | undefined;
  expiresAt: Date;
  health: StateHealth;
  logger: Logger;
}): Disposable {
  const { ledger, runId, logger } = o;
  const key = ledger.intend(
    {
      provider: RUN_LEDGER_PROVIDER,
      kind: 'run',
      details: { runId, ...(o.shard ? { shard: o.shard.index } : {}) },
    },
    o.expiresAt,
  ).key;
  // Left open where the run's end was not stored (or the ledger cannot be written): `gc`
  // marks the run cancelled.
  const close = () => {
    if (o.health.runEndStored(runId) === false) return;
    try {
      ledger.close(key);
    } catch (err) {
      logger.debug(`the run's ledger entry stays open: ${errorMessage(err)}`);
    }
  };
  try {
    ledger.update(key, { resourceId: runId, status: 'active' });
  } catch (err) {
    close();
    throw err;
  }
  return { [Symbol.dispose]: close };
}

/**
 * Runs are recorded in the ledger like machines (provider `benchyard`, kind `run`) while
 * they run: a run whose controller died is marked `cancelled` by gc and its entry closed.
 */
import { controllerRuns } from './controller.js';
import { row, type GcDeps, type GcRequest, type GcRow } from './model.js';

/** The ledger's provider name for runs themselves (kind `run`). */
export const RUN_LEDGER_PROVIDER = 'benchyard';

export async function orphanRuns(req: GcRequest, deps: GcDeps): Promise<GcRow[]> {
  const rows: GcRow[] = [];
  const now = deps.clock.now();
  const runs = deps.controllerRuns ?? controllerRuns;
  // A run's controller is knowable as gone only on its host, or once the entry expired.
  const gone = deps.ledger
    .open({ provider: RUN_LEDGER_PROVIDER, ...(req.session ? { session: req.session } : {}) })
    .filter(
      (e) =>
        e.kind === 'run' &&
        (req.force ||
          runs(String(e.details.controllerHost), Number(e.details.controllerPid)) === false ||
          Date.parse(e.expiresAt) <= now),
    );
  if (gone.length === 0) return rows;
  const store = deps.openRuns();
  try {
    for (const e of gone) {
      const runId = String(e.details.runId ?? e.resourceId);
      const shard = typeof e.details.shard === 'number' ? e.details.shard : undefined;
      const at = (action: string) => row(RUN_LEDGER_PROVIDER, 'run', runId, e.session, action);
      if (req.dryRun) {
        rows.push(at('would mark cancelled (its controller is gone)'));
        continue;
      }
      const marked = store.cancelOrphan(runId, new Date(now).toISOString(), shard);
      deps.ledger.close(e.key, 'released', 'closed by gc: its controller is gone');
      rows.push(at(marked ? 'marked cancelled (its controller is gone)' : 'forgotten (it had ended)'));
    }
  } finally {
    await store.close();
  }
  return rows;
}

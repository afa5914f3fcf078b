/**
 * Open ledger entries and tagged cloud resources, provider by provider: destroyed where
 * they are provably benchyard's and nobody alive holds them, the entry closed only once
 * the provider confirms the resource is gone.
 */
import { errorMessage, OwnershipError, type LedgerEntry, type ResourceRef } from '../core/index.js';
import { controllerRuns } from './controller.js';
import { row, toRef, type GcDeps, type GcReport, type GcRequest } from './model.js';

/** How long one provider may take to list and destroy. */
const PROVIDER_TIMEOUT_MS = 15 * 60_000;

export async function sweepProviders(req: GcRequest, deps: GcDeps, signal: AbortSignal): Promise<GcReport> {
  const out: GcReport = { rows: [], failures: 0 };
  const now = deps.clock.now();
  const entries = deps.ledger.open(req.session ? { session: req.session } : {});
  // Entries of a controller still running here (and not expired) are left alone.
  const keep = new Set(
    entries
      .filter((e) => controllerAlive(e, deps) && !req.force && Date.parse(e.expiresAt) > now)
      .map((e) => e.key),
  );
  const live = (e: LedgerEntry) => keep.has(e.key);
  for (const e of entries.filter(live))
    out.rows.push(
      row(
        e.provider,
        e.kind,
        e.resourceId ?? e.key,
        e.session,
        `kept: controller pid ${String(e.details.controllerPid)} is running`,
      ),
    );
  const byProvider = new Map<string, LedgerEntry[]>();
  for (const e of entries.filter((x) => !live(x)))
    byProvider.set(e.provider, [...(byProvider.get(e.provider) ?? []), e]);
  // Also look where live entries point: their regions may hold other leftovers.
  const hints = entries.map(toRef);
  for (const [name, provider] of deps.providers) {
    // Only providers this ledger has used: they say where (regions, endpoints) to look.
    if (!provider.discover || !hints.some((h) => h.provider === name)) continue;
    const mine = byProvider.get(name) ?? [];
    const within = AbortSignal.any([signal, AbortSignal.timeout(PROVIDER_TIMEOUT_MS)]);
    let found: ResourceRef[];
    try {
      found = await provider.discover({
        ...(req.session ? { session: req.session } : {}),
        hints: hints.filter((h) => h.provider === name),
        signal: within,
      });
    } catch (err) {
      out.failures++;
      for (const e of mine)
        out.rows.push(
          row(
            name,
            e.kind,
            e.resourceId ?? e.key,
            e.session,
            `kept: cannot list ${name}: ${errorMessage(err)}`,
          ),
        );
      continue;
    }
    const ours = new Map(mine.map((e) => [e.key, e]));
    // One entry may hold several objects (a cluster's holder, agent and benchmark pods): it
    // closes once every one of them found is destroyed, and stays open if any is not.
    const fate = new Map<string, 'destroyed' | 'kept'>();
    const settle = (entry: LedgerEntry | undefined, f: 'destroyed' | 'kept') => {
      if (entry && fate.get(entry.key) !== 'kept') fate.set(entry.key, f);
    };
    for (const ref of found) {
      if (ref.ledgerKey && keep.has(ref.ledgerKey)) continue;
      const entry = ref.ledgerKey ? ours.get(ref.ledgerKey) : undefined;
      // Never on a filter's word: what carries no benchyard identity is not ours to touch.
      if (!ref.ledgerKey && !ref.session) {
        out.rows.push(row(name, ref.kind, ref.id, '', 'kept: carries no benchyard identity'));
        continue;
      }
      const expired = ref.expiresAt !== undefined && Date.parse(ref.expiresAt) <= now;
      const allowed = entry || expired || req.all || (req.session && ref.session === req.session);
      const at = (action: string) => row(name, ref.kind, ref.id, ref.session ?? '', action);
      if (!allowed) {
        out.rows.push(at('kept: not in this ledger and not expired (--all)'));
        continue;
      }
      if (req.dryRun) {
        out.rows.push(at('would destroy'));
        settle(entry, 'kept');
        continue;
      }
      try {
        await provider.destroy?.(ref, within);
        out.rows.push(at('destroyed'));
        settle(entry, 'destroyed');
      } catch (err) {
        settle(entry, 'kept');
        if (err instanceof OwnershipError) {
          out.rows.push(at(`kept: not benchyard's: ${errorMessage(err)}`));
          // An entry of this ledger whose object will not prove it is ours stays open: a failure.
          if (entry) out.failures++;
          continue;
        }
        out.failures++;
        out.rows.push(at(`FAILED: ${errorMessage(err)}`));
      }
    }
    for (const [key, f] of fate) {
      if (f === 'destroyed') deps.ledger.close(key);
      ours.delete(key);
    }
    // Entries the provider no longer lists: closed once it confirms nothing of them exists
    // (a listing can miss an object whose tags a gateway changed).
    for (const e of ours.values()) {
      const gone = provider.absent ? await provider.absent(toRef(e), within).catch(() => false) : true;
      const at = (action: string) => row(name, e.kind, e.resourceId ?? e.key, e.session, action);
      if (!gone) {
        out.failures++;
        out.rows.push(at(`kept: not listed, but ${name} cannot confirm it is gone`));
        continue;
      }
      if (req.dryRun) out.rows.push(at('would forget (gone)'));
      else {
        deps.ledger.close(e.key, e.resourceId ? 'released' : 'failed', 'closed by gc: gone at the provider');
        out.rows.push(at('forgotten (gone)'));
      }
    }
  }
  return out;
}

/** Whether the controller that wrote the entry still runs (only knowable on the same host). */
function controllerAlive(e: LedgerEntry, deps: GcDeps): boolean {
  const pid = Number(e.details.controllerPid);
  if (pid === (deps.pid ?? process.pid)) return false;
  return (deps.controllerRuns ?? controllerRuns)(String(e.details.controllerHost), pid) === true;
}

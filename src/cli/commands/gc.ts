/**
 * `benchyard gc`: finds what a crashed or killed controller left behind — open ledger
 * entries and cloud resources carrying benchyard's tags — terminates it, waits until the
 * provider confirms it is gone, and only then closes the ledger entry.
 *
 * Safe by default: entries of a controller still running on this host are left alone,
 * and tagged resources that no entry here knows about are only touched once their
 * `benchyard:expires-at` has passed (or with `--session` / `--all`).
 */
import Table from 'cli-table3';
import os from 'node:os';
import { errorMessage, InfrastructureError, type LedgerEntry, type ResourceRef } from '../../core/index.js';
import type { CliIo } from '../io.js';
import { providerSet } from '../providers.js';

export interface GcOptions {
  state: string;
  dryRun?: boolean;
  session?: string;
  all?: boolean;
  force?: boolean;
  json?: boolean;
}

interface Row {
  provider: string;
  kind: string;
  id: string;
  session: string;
  action: string;
}

export async function gcCommand(opts: GcOptions, io: CliIo): Promise<void> {
  const set = await providerSet({ state: opts.state, logger: io.logger, maxLifetimeMs: 3_600_000 });
  const rows: Row[] = [];
  let failures = 0;
  try {
    const now = Date.now();
    const entries = set.ledger.open(opts.session ? { session: opts.session } : {});
    // Entries of a controller still running here (and not expired) are left alone.
    const keep = new Set(
      entries
        .filter((e) => controllerAlive(e) && !opts.force && Date.parse(e.expiresAt) > now)
        .map((e) => e.key),
    );
    const live = (e: LedgerEntry) => keep.has(e.key);
    for (const e of entries.filter(live))
      rows.push(
        row(
          e.provider,
          e.kind,
          e.resourceId ?? e.key,
          e.session,
          `kept: controller pid ${String(e.details.controllerPid)} is running`,
        ),
      );
    const candidates = entries.filter((e) => !live(e));
    const byProvider = new Map<string, LedgerEntry[]>();
    for (const e of candidates) byProvider.set(e.provider, [...(byProvider.get(e.provider) ?? []), e]);
    // Also look where live entries point: their regions may hold other leftovers.
    const hints = entries.map(toRef);
    for (const [name, provider] of set.providers) {
      // Only providers this ledger has used: they say where (regions, endpoints) to look.
      if (!provider.discover || !hints.some((h) => h.provider === name)) continue;
      const mine = byProvider.get(name) ?? [];
      const signal = AbortSignal.any([io.signal, AbortSignal.timeout(15 * 60_000)]);
      let found: ResourceRef[];
      try {
        found = await provider.discover({
          ...(opts.session ? { session: opts.session } : {}),
          hints: hints.filter((h) => h.provider === name),
          signal,
        });
      } catch (err) {
        failures++;
        for (const e of mine)
          rows.push(
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
      for (const ref of found) {
        const entry = ref.ledgerKey ? ours.get(ref.ledgerKey) : undefined;
        if (ref.ledgerKey && keep.has(ref.ledgerKey)) continue;
        const expired = ref.expiresAt !== undefined && Date.parse(ref.expiresAt) <= now;
        const allowed = entry || expired || opts.all || (opts.session && ref.session === opts.session);
        if (!allowed) {
          rows.push(
            row(
              name,
              ref.kind,
              ref.id,
              ref.session ?? '',
              'kept: not in this ledger and not expired (--all)',
            ),
          );
          continue;
        }
        if (opts.dryRun) {
          rows.push(row(name, ref.kind, ref.id, ref.session ?? '', 'would destroy'));
          if (entry) ours.delete(entry.key);
          continue;
        }
        try {
          await provider.destroy?.(ref, signal);
          rows.push(row(name, ref.kind, ref.id, ref.session ?? '', 'destroyed'));
          if (entry) {
            set.ledger.close(entry.key);
            ours.delete(entry.key);
          }
        } catch (err) {
          failures++;
          rows.push(row(name, ref.kind, ref.id, ref.session ?? '', `FAILED: ${errorMessage(err)}`));
          if (entry) ours.delete(entry.key);
        }
      }
      // Entries the provider no longer has anything for: confirmed gone (or never created).
      for (const e of ours.values()) {
        if (opts.dryRun)
          rows.push(row(name, e.kind, e.resourceId ?? e.key, e.session, 'would forget (gone)'));
        else {
          set.ledger.close(e.key, e.resourceId ? 'released' : 'failed', 'closed by gc: gone at the provider');
          rows.push(row(name, e.kind, e.resourceId ?? e.key, e.session, 'forgotten (gone)'));
        }
      }
    }
  } finally {
    set.close();
  }
  if (opts.json) io.stdout(`${JSON.stringify(rows, null, 2)}\n`);
  else if (rows.length === 0) io.stdout('gc: nothing left behind\n');
  else {
    const table = new Table({ head: ['provider', 'kind', 'id', 'session', 'action'] });
    for (const r of rows) table.push([r.provider, r.kind, r.id, r.session, r.action]);
    io.stdout(`${table.toString()}\n`);
  }
  if (failures > 0)
    throw new InfrastructureError(`gc: ${failures} resources could not be cleaned up; run it again`);
}

function row(provider: string, kind: string, id: string, session: string, action: string): Row {
  return { provider, kind, id, session, action };
}

function toRef(e: LedgerEntry): ResourceRef {
  return {
    provider: e.provider,
    kind: e.kind,
    id: e.resourceId ?? '',
    ...(e.region ? { region: e.region } : {}),
    session: e.session,
    owner: e.owner,
    expiresAt: e.expiresAt,
    ledgerKey: e.key,
    details: e.details,
  };
}

/** Whether the controller that wrote the entry still runs (only knowable on the same host). */
function controllerAlive(e: LedgerEntry): boolean {
  const pid = Number(e.details.controllerPid);
  if (e.details.controllerHost !== os.hostname() || !Number.isInteger(pid) || pid === process.pid)
    return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * `benchyard gc`: finds what a crashed or killed controller left behind — open ledger
 * entries, cloud resources carrying benchyard's tags, runs still marked `running`, and
 * benchyard's containers and leases on this machine's engine and on the engines of the
 * state's SSH hosts — destroys it, waits until the provider confirms it is gone, and only
 * then closes the ledger entry.
 *
 * Safe by default: what a controller still running holds is left alone; tagged resources
 * that no entry here knows about are only touched once their `benchyard:expires-at` has
 * passed (or with `--session` / `--all`); nothing is destroyed that does not carry
 * benchyard's identity as the provider returned it (the providers check it again before
 * any delete). `--forget KEY` closes an entry that provably never reached its provider.
 */
import Docker from 'dockerode';
import { existsSync } from 'node:fs';
import {
  errorMessage,
  InfrastructureError,
  InputError,
  OwnershipError,
  type LedgerEntry,
  type ResourceRef,
  type SshEndpoint,
} from '../../core/index.js';
import { endpointFromDetails } from '../../../providers/ssh/index.js';
import { controllerRuns } from '../../gc/controller.js';
import { sweepEngine } from '../../gc/engine-sweep.js';
import { SqliteStore } from '../../store/index.js';
import { dataTable } from '../../report/index.js';
import type { CliIo } from '../io.js';
import { providerSet, RUN_LEDGER_PROVIDER, type ProviderSet } from '../providers.js';

export interface GcOptions {
  state: string;
  dryRun?: boolean;
  session?: string;
  all?: boolean;
  force?: boolean;
  json?: boolean;
  /** A ledger key to close once its provider provably holds nothing of it. */
  forget?: string;
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
    if (opts.forget !== undefined) rows.push(await forget(set, opts.forget, io.signal));
    else {
      failures += await sweepProviders(set, opts, rows, io.signal);
      rows.push(...orphanRuns(set, opts));
      failures += await sweepEngines(set, opts, rows, io.signal);
    }
  } finally {
    set.close();
  }
  if (opts.json) io.stdout(`${JSON.stringify(rows, null, 2)}\n`);
  else if (rows.length === 0) io.stdout('gc: nothing left behind\n');
  else
    io.stdout(
      `${dataTable(
        ['provider', 'kind', 'id', 'session', 'action'],
        rows.map((r) => [r.provider, r.kind, r.id, r.session, r.action]),
      )}\n`,
    );
  if (failures > 0)
    throw new InfrastructureError(`gc: ${failures} resources could not be cleaned up; run it again`);
}

/** Open ledger entries and tagged cloud resources, provider by provider. Answers the failures. */
async function sweepProviders(
  set: ProviderSet,
  opts: GcOptions,
  rows: Row[],
  outer: AbortSignal,
): Promise<number> {
  let failures = 0;
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
  const byProvider = new Map<string, LedgerEntry[]>();
  for (const e of entries.filter((x) => !live(x)))
    byProvider.set(e.provider, [...(byProvider.get(e.provider) ?? []), e]);
  // Also look where live entries point: their regions may hold other leftovers.
  const hints = entries.map(toRef);
  for (const [name, provider] of set.providers) {
    // Only providers this ledger has used: they say where (regions, endpoints) to look.
    if (!provider.discover || !hints.some((h) => h.provider === name)) continue;
    const mine = byProvider.get(name) ?? [];
    const signal = AbortSignal.any([outer, AbortSignal.timeout(15 * 60_000)]);
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
      if (ref.ledgerKey && keep.has(ref.ledgerKey)) continue;
      const entry = ref.ledgerKey ? ours.get(ref.ledgerKey) : undefined;
      // Never on a filter's word: what carries no benchyard identity is not ours to touch.
      if (!ref.ledgerKey && !ref.session) {
        rows.push(row(name, ref.kind, ref.id, '', 'kept: carries no benchyard identity'));
        continue;
      }
      const expired = ref.expiresAt !== undefined && Date.parse(ref.expiresAt) <= now;
      const allowed = entry || expired || opts.all || (opts.session && ref.session === opts.session);
      if (!allowed) {
        rows.push(
          row(name, ref.kind, ref.id, ref.session ?? '', 'kept: not in this ledger and not expired (--all)'),
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
        if (entry) ours.delete(entry.key);
        if (err instanceof OwnershipError) {
          rows.push(
            row(name, ref.kind, ref.id, ref.session ?? '', `kept: not benchyard's: ${errorMessage(err)}`),
          );
          // An entry of this ledger whose object will not prove it is ours stays open: a failure.
          if (entry) failures++;
          continue;
        }
        failures++;
        rows.push(row(name, ref.kind, ref.id, ref.session ?? '', `FAILED: ${errorMessage(err)}`));
      }
    }
    // Entries the provider no longer lists: closed once it confirms nothing of them exists
    // (a listing can miss an object whose tags a gateway changed).
    for (const e of ours.values()) {
      const gone = provider.absent ? await provider.absent(toRef(e), signal).catch(() => false) : true;
      if (!gone) {
        failures++;
        rows.push(
          row(
            name,
            e.kind,
            e.resourceId ?? e.key,
            e.session,
            `kept: not listed, but ${name} cannot confirm it is gone`,
          ),
        );
        continue;
      }
      if (opts.dryRun) rows.push(row(name, e.kind, e.resourceId ?? e.key, e.session, 'would forget (gone)'));
      else {
        set.ledger.close(e.key, e.resourceId ? 'released' : 'failed', 'closed by gc: gone at the provider');
        rows.push(row(name, e.kind, e.resourceId ?? e.key, e.session, 'forgotten (gone)'));
      }
    }
  }
  return failures;
}

/** Runs whose controller died while they ran: marked `cancelled`, their entries closed. */
function orphanRuns(set: ProviderSet, opts: GcOptions): Row[] {
  const rows: Row[] = [];
  const now = new Date().toISOString();
  // A run's controller is knowable as gone only on its host, or once the entry expired.
  const gone = set.ledger
    .open({ provider: RUN_LEDGER_PROVIDER, ...(opts.session ? { session: opts.session } : {}) })
    .filter(
      (e) =>
        e.kind === 'run' &&
        (opts.force ||
          controllerRuns(String(e.details.controllerHost), Number(e.details.controllerPid)) === false ||
          Date.parse(e.expiresAt) <= Date.now()),
    );
  if (gone.length === 0) return rows;
  const store = new SqliteStore(opts.state);
  try {
    for (const e of gone) {
      const runId = String(e.details.runId ?? e.resourceId);
      const shard = typeof e.details.shard === 'number' ? e.details.shard : undefined;
      if (opts.dryRun) {
        rows.push(
          row(RUN_LEDGER_PROVIDER, 'run', runId, e.session, 'would mark cancelled (its controller is gone)'),
        );
        continue;
      }
      const marked = store.cancelOrphan(runId, now, shard);
      set.ledger.close(e.key, 'released', 'closed by gc: its controller is gone');
      rows.push(
        row(
          RUN_LEDGER_PROVIDER,
          'run',
          runId,
          e.session,
          marked ? 'marked cancelled (its controller is gone)' : 'forgotten (it had ended)',
        ),
      );
    }
  } finally {
    void store.close();
  }
  return rows;
}

/**
 * benchyard's containers and leases on this machine's engine and on the engines of the
 * state's SSH hosts. A host only closed entries know that does not answer is noted, not
 * a failure.
 */
async function sweepEngines(
  set: ProviderSet,
  opts: GcOptions,
  rows: Row[],
  outer: AbortSignal,
): Promise<number> {
  let failures = 0;
  const sweep = {
    dryRun: Boolean(opts.dryRun),
    force: Boolean(opts.force),
    leases: set.leases,
    now: Date.now(),
    ...(opts.session ? { session: opts.session } : {}),
  };
  const toRows = (r: Awaited<ReturnType<typeof sweepEngine>>) =>
    r.map((x) => row('docker', x.kind, x.engine, x.session, x.action));
  if (localEngineExpected()) {
    const signal = AbortSignal.any([outer, AbortSignal.timeout(120_000)]);
    try {
      rows.push(...toRows(await sweepEngine(new Docker(), 'local', { ...sweep, signal })));
    } catch (err) {
      failures++;
      rows.push(row('docker', 'engine', 'local', '', `FAILED: ${errorMessage(err)}`));
    }
  }
  for (const { endpoint, open } of sshEngines(set)) {
    const signal = AbortSignal.any([outer, AbortSignal.timeout(120_000)]);
    const where = `${endpoint.user}@${endpoint.host}:${endpoint.port}`;
    try {
      const session = await set.connector.connect(endpoint, signal);
      try {
        rows.push(...toRows(await sweepEngine(session.docker, where, { ...sweep, signal })));
      } finally {
        await session.close();
      }
    } catch (err) {
      if (open) failures++;
      rows.push(
        row('docker', 'engine', where, '', `${open ? 'FAILED' : 'not reached'}: ${errorMessage(err)}`),
      );
    }
  }
  return failures;
}

/** The SSH hosts this state's ledger has leased (the most recent 1000 entries), each once. */
function sshEngines(set: ProviderSet) {
  const seen = new Map<string, { endpoint: SshEndpoint; open: boolean }>();
  for (const e of set.ledger.all(1000)) {
    const endpoint = e.provider === 'ssh' ? endpointFromDetails(e.details) : undefined;
    if (!endpoint) continue;
    const key = `${endpoint.user}@${endpoint.host}:${endpoint.port} ${endpoint.dockerSocket}`;
    const open = e.status !== 'released' && e.status !== 'failed';
    const known = seen.get(key);
    if (known) known.open ||= open;
    else seen.set(key, { open, endpoint });
  }
  return [...seen.values()];
}

/** This machine runs a Docker engine benchyard could have used (its socket, or DOCKER_HOST). */
function localEngineExpected(): boolean {
  return Boolean(process.env.DOCKER_HOST) || existsSync('/var/run/docker.sock');
}

/** `gc --forget KEY`: closes the entry once its provider provably holds nothing of it. */
async function forget(set: ProviderSet, key: string, signal: AbortSignal): Promise<Row> {
  const entry = set.ledger.get(key);
  if (!entry) throw new InputError(`gc --forget: no ledger entry '${key}' in this state folder`);
  const at = (action: string) =>
    row(entry.provider, entry.kind, entry.resourceId ?? entry.key, entry.session, action);
  if (entry.status === 'released' || entry.status === 'failed') return at(`already closed (${entry.status})`);
  if (entry.provider !== RUN_LEDGER_PROVIDER) {
    const provider = set.providers.get(entry.provider);
    if (!provider?.absent)
      throw new InputError(
        `gc --forget: ${entry.provider} cannot prove that nothing of ${key} exists; run 'benchyard gc' to clean it up`,
      );
    if (!(await provider.absent(toRef(entry), signal)))
      throw new InfrastructureError(
        `gc --forget: ${entry.provider} still holds something of ${key} (or cannot tell); run 'benchyard gc' to destroy it`,
        { key },
      );
  }
  set.ledger.close(key, 'failed', `forgotten by gc --forget: nothing of it exists at ${entry.provider}`);
  return at('forgotten (provably never created, or gone)');
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
  if (pid === process.pid) return false;
  return controllerRuns(String(e.details.controllerHost), pid) === true;
}

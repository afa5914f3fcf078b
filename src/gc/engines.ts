/**
 * benchyard's containers and leases on this machine's engine and on the engines of the
 * SSH hosts this state's ledger has leased. A host that only closed entries know and that
 * does not answer is noted, not a failure.
 */
import type { SshEndpoint } from '../core/index.js';
import { errorMessage } from '../core/index.js';
import { sweepEngine, type SweepRow } from './engine-sweep.js';
import { row, type GcDeps, type GcReport, type GcRequest } from './model.js';

/** How long one engine may take. */
const ENGINE_TIMEOUT_MS = 120_000;

/** How many of the ledger's latest entries name the SSH hosts to look at. */
const ENTRIES_READ = 1000;

export async function sweepEngines(req: GcRequest, deps: GcDeps, signal: AbortSignal): Promise<GcReport> {
  const out: GcReport = { rows: [], failures: 0 };
  const sweep = deps.sweep ?? sweepEngine;
  const base = {
    dryRun: Boolean(req.dryRun),
    force: Boolean(req.force),
    leases: deps.leases,
    now: deps.clock.now(),
    ...(req.session ? { session: req.session } : {}),
  };
  const toRows = (r: SweepRow[]) => r.map((x) => row('docker', x.kind, x.engine, x.session, x.action));
  const local = deps.localEngine();
  if (local) {
    const within = AbortSignal.any([signal, AbortSignal.timeout(ENGINE_TIMEOUT_MS)]);
    try {
      out.rows.push(...toRows(await sweep(local, 'local', { ...base, signal: within })));
    } catch (err) {
      out.failures++;
      out.rows.push(row('docker', 'engine', 'local', '', `FAILED: ${errorMessage(err)}`));
    }
  }
  for (const { endpoint, open } of sshEngines(deps)) {
    const within = AbortSignal.any([signal, AbortSignal.timeout(ENGINE_TIMEOUT_MS)]);
    const where = `${endpoint.user}@${endpoint.host}:${endpoint.port}`;
    try {
      const session = await deps.connect(endpoint, within);
      try {
        out.rows.push(...toRows(await sweep(session.docker, where, { ...base, signal: within })));
      } finally {
        await session.close();
      }
    } catch (err) {
      if (open) out.failures++;
      out.rows.push(
        row('docker', 'engine', where, '', `${open ? 'FAILED' : 'not reached'}: ${errorMessage(err)}`),
      );
    }
  }
  return out;
}

/** The SSH hosts the ledger's latest entries name, each once; `open` where an entry of it is. */
export function sshEngines(
  deps: Pick<GcDeps, 'ledger' | 'sshEndpoint'>,
): { endpoint: SshEndpoint; open: boolean }[] {
  const seen = new Map<string, { endpoint: SshEndpoint; open: boolean }>();
  for (const e of deps.ledger.all(ENTRIES_READ)) {
    const endpoint = e.provider === 'ssh' ? deps.sshEndpoint(e.details) : undefined;
    if (!endpoint) continue;
    const key = `${endpoint.user}@${endpoint.host}:${endpoint.port} ${endpoint.dockerSocket}`;
    const open = e.status !== 'released' && e.status !== 'failed';
    const known = seen.get(key);
    if (known) known.open ||= open;
    else seen.set(key, { open, endpoint });
  }
  return [...seen.values()];
}

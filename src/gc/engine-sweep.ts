/**
 * `gc` on one Docker engine (this machine's, an SSH host's): benchyard's containers whose
 * controller is gone, and a lease nobody renews any more. What belongs to a controller that
 * still runs is kept. A container is benchyard's when it carries the managed label (checked
 * on what the engine returned); its controller is gone when
 * - it ran on this host and its pid is dead, or
 * - it ran elsewhere (or is older than the controller labels) and its session holds no live
 *   lease on this engine (a live controller always holds the lease of the machine it uses),
 * or the container is past its `io.benchyard.expires-at` (its timeout plus an hour).
 */
import type Docker from 'dockerode';
import { LABELS, describeHolder, removeContainer, type MachineLeases } from '../core/index.js';
import { LEASE_CONTAINER, LEASE_LABELS } from '../lease/index.js';
import { controllerRuns } from './controller.js';

export interface SweepRow {
  /** The engine: `local` or the SSH host. */
  engine: string;
  kind: 'containers' | 'lease';
  session: string;
  action: string;
}

export interface SweepOptions {
  dryRun: boolean;
  /** Only this session's containers. */
  session?: string;
  /** Also what a controller that still runs holds. */
  force: boolean;
  leases: MachineLeases;
  signal: AbortSignal;
  now: number;
}

export async function sweepEngine(docker: Docker, engine: string, o: SweepOptions): Promise<SweepRow[]> {
  const rows: SweepRow[] = [];
  const lease = await o.leases.read(docker, o.signal);
  const leaseAlive = lease !== undefined && !lease.expired && controllerRuns(lease.host, lease.pid) !== false;
  const listed = await docker.listContainers({ all: true, filters: { label: [`${LABELS.managed}=true`] } });
  const bySession = new Map<string, Docker.ContainerInfo[]>();
  for (const c of listed) {
    if (c.Labels?.[LABELS.managed] !== 'true') continue;
    const session = c.Labels[LABELS.session] ?? '';
    if (o.session && session !== o.session) continue;
    bySession.set(session, [...(bySession.get(session) ?? []), c]);
  }
  for (const [session, containers] of bySession) {
    const runs = containers.map((c) =>
      controllerRuns(c.Labels[LABELS.controllerHost], numberOr(c.Labels[LABELS.controllerPid])),
    );
    const holdsLease = leaseAlive && lease.session === session;
    const alive = runs.some((r) => r === true) || (runs.every((r) => r === undefined) && holdsLease);
    const expired = (c: Docker.ContainerInfo) => {
      const at = Date.parse(c.Labels[LABELS.expiresAt] ?? '');
      return Number.isFinite(at) && at <= o.now;
    };
    const doomed = alive && !o.force ? containers.filter(expired) : containers;
    if (doomed.length < containers.length)
      rows.push({
        engine,
        kind: 'containers',
        session,
        action: `kept ${containers.length - doomed.length}: its controller still runs`,
      });
    if (doomed.length === 0) continue;
    if (o.dryRun) {
      rows.push({ engine, kind: 'containers', session, action: `would remove ${doomed.length}` });
      continue;
    }
    let removed = 0;
    for (const c of doomed) if (await removeContainer(docker, c.Id)) removed++;
    rows.push({ engine, kind: 'containers', session, action: `removed ${removed}` });
  }
  if (lease && (!o.session || lease.session === o.session) && (!leaseAlive || o.force)) {
    const what = `${lease.expired ? 'expired' : 'stale'} lease of ${describeHolder(lease)}`;
    if (o.dryRun)
      rows.push({ engine, kind: 'lease', session: lease.session, action: `would remove the ${what}` });
    else {
      // Removed by id: a lease taken since it was read is not touched.
      const info = await docker
        .getContainer(LEASE_CONTAINER)
        .inspect()
        .catch(() => undefined);
      const same = info?.Config.Labels?.[LEASE_LABELS.since] === lease.since;
      if (info && same && (await removeContainer(docker, info.Id)))
        rows.push({ engine, kind: 'lease', session: lease.session, action: `removed the ${what}` });
    }
  }
  return rows;
}

function numberOr(text: string | undefined): number | undefined {
  const n = Number(text);
  return text && Number.isInteger(n) ? n : undefined;
}

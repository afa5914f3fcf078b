/** Label keys put on every container benchyard creates, so leftovers can be found and swept. */
import type Docker from 'dockerode';
import os from 'node:os';

export const LABELS = {
  managed: 'io.benchyard.managed',
  /** The controller session that created it (BENCHYARD_SESSION, or one per process). */
  session: 'io.benchyard.session',
  /** The machine (`Machine.id`) it runs on: cleanup selects by machine and session, never by run. */
  machine: 'io.benchyard.machine',
  /** The controller process that created it (`host` and `pid`): gc tells whether it still runs. */
  controllerHost: 'io.benchyard.controller-host',
  controllerPid: 'io.benchyard.controller-pid',
  run: 'io.benchyard.run',
  cell: 'io.benchyard.cell',
  repetition: 'io.benchyard.repetition',
  benchmark: 'io.benchyard.benchmark',
  expiresAt: 'io.benchyard.expires-at',
} as const;

/**
 * What ties a container to the controller that made it: managed, its session, the machine
 * it runs on and the controller process. Every container benchyard creates carries these.
 */
export function ownerLabels(session: string, machineId: string): Record<string, string> {
  return {
    [LABELS.managed]: 'true',
    [LABELS.session]: session,
    [LABELS.machine]: machineId,
    [LABELS.controllerHost]: os.hostname(),
    [LABELS.controllerPid]: String(process.pid),
  };
}

/**
 * Force-removes benchyard's containers on an engine that carry every label given (as
 * `key=value`), checked on what the engine returned rather than trusted to its filter. A
 * container gone already, or whose removal is in progress (409), counts as removed.
 * Answers how many it removed.
 */
export async function removeLabelled(docker: Docker, labels: readonly string[]): Promise<number> {
  const wanted = [`${LABELS.managed}=true`, ...labels].map((l) => l.split('=', 2) as [string, string]);
  const listed = await docker.listContainers({
    all: true,
    filters: { label: wanted.map(([k, v]) => `${k}=${v}`) },
  });
  let removed = 0;
  for (const c of listed) {
    if (!wanted.every(([k, v]) => c.Labels?.[k] === v)) continue;
    if (await removeContainer(docker, c.Id)) removed++;
  }
  return removed;
}

/**
 * Force-removes one container by id (the caller has proved it is benchyard's). False when it
 * was gone already, or its removal is in progress elsewhere (409): removed either way; by id,
 * so a container created since under the same name is never touched.
 */
export async function removeContainer(docker: Docker, id: string): Promise<boolean> {
  try {
    await docker.getContainer(id).remove({ force: true, v: true });
    return true;
  } catch (err) {
    const e = err as { statusCode?: number; json?: { message?: string }; message?: string };
    if (e.statusCode === 404) return false;
    if (e.statusCode === 409 && /already in progress/i.test(e.json?.message ?? e.message ?? '')) return false;
    throw err;
  }
}

/**
 * The host pid of a container the agent is told about by id only: a pod's container
 * (the Kubernetes engine knows its CRI id, not its pid). Every process of a container
 * lives in the container's cgroup, whose path ends in the id: `/kubepods/…/pod<uid>/<id>`
 * (cgroupfs driver), `…/cri-containerd-<id>.scope` (systemd driver), on cgroup v1 and v2.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

/** A CRI (containerd, CRI-O) or Docker container id. */
const CONTAINER_ID = /^[0-9a-f]{64}$/;

/** How many `/proc/<pid>/cgroup` files are read at once. */
const BATCH = 64;

/**
 * The lowest pid under `<fsRoot>/proc` whose cgroup names the container `ref` (its id, or
 * `<runtime>://<id>`); 0 where none
 * does (the container exited already, or `id` is not a container id). Processes that vanish
 * or cannot be read while scanning are passed over.
 */
export async function containerHostPid(ref: string, fsRoot: string): Promise<number> {
  // As a pod's status writes it: `containerd://<id>`.
  const id = ref.replace(/^[a-z][a-z0-9+.-]*:\/\//, '');
  if (!CONTAINER_ID.test(id)) return 0;
  const proc = path.join(fsRoot, 'proc');
  const pids = (await readdir(proc).catch(() => []))
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .sort((a, b) => a - b);
  for (let i = 0; i < pids.length; i += BATCH) {
    const batch = pids.slice(i, i + BATCH);
    const texts = await Promise.all(
      batch.map((pid) => readFile(path.join(proc, String(pid), 'cgroup'), 'utf8').catch(() => '')),
    );
    // Ascending order: the first match is the lowest pid.
    const at = texts.findIndex((text) => cgroupNames(text, id));
    if (at >= 0) return batch[at]!;
  }
  return 0;
}

/** Whether a `/proc/<pid>/cgroup` text puts the process in container `id`'s cgroup. */
export function cgroupNames(text: string, id: string): boolean {
  return text.split('\n').some((line) => {
    // `hierarchy-ID:controllers:path`; the path may itself hold colons.
    const parts = line.split(':').slice(2).join(':').split('/');
    return parts.some((part) => part === id || part.endsWith(`-${id}.scope`));
  });
}

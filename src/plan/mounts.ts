/**
 * What a plan's containers get from their machines' filesystems: the `inputs` folder
 * (read-only at /in) and device nodes, and which of them deserve a warning before anything
 * runs — an inputs folder that exposes the machine's system or a home folder (SSH keys,
 * cloud credentials), and block devices a container may write (the disk under the host).
 * Pure: what a filesystem says comes in through `MountFacts`.
 */
import path from 'node:path';
import type { MatrixCell } from '../core/index.js';

export interface Mount {
  entry: string;
  kind: 'folder' | 'device' | 'device rule';
  /** Path on the machine (for a rule: the rule). */
  host: string;
  /** Path in the container ('' for a rule). */
  container: string;
  /** `read-only`, or cgroup permissions (`rwm`). */
  access: string;
  /** On this machine (a `local` target): its facts can be looked at. */
  local: boolean;
}

export interface MountFacts {
  /** The user's home folder. */
  home: string;
  /** The path with symbolic links resolved (as given when it cannot be). */
  realpath(p: string): string;
  /** Whether the path is a block device on this machine (undefined: not known). */
  isBlockDevice(p: string): boolean | undefined;
}

/** Every distinct mount of the plan's cells, in plan order. */
export function planMounts(cells: readonly MatrixCell[]): Mount[] {
  const out = new Map<string, Mount>();
  const add = (m: Mount) => out.set(JSON.stringify(m), m);
  for (const c of cells) {
    const local = c.target.provider === 'local';
    if (c.inputs !== undefined)
      add({ entry: c.entry, kind: 'folder', host: c.inputs, container: '/in', access: 'read-only', local });
    for (const d of [...(c.requires.fpga?.devices ?? []), ...c.requires.devices])
      add({
        entry: c.entry,
        kind: 'device',
        host: d.host,
        container: d.container,
        access: d.permissions,
        local,
      });
    for (const rule of c.requires.deviceCgroupRules)
      add({
        entry: c.entry,
        kind: 'device rule',
        host: rule,
        container: '',
        access: rule.split(' ')[2] ?? '',
        local,
      });
  }
  return [...out.values()];
}

export function formatMount(m: Mount): string {
  if (m.kind === 'device rule') return `${m.entry}: device rule '${m.host}'`;
  return `${m.entry}: ${m.host} → ${m.container} (${m.access})`;
}

/** System folders whose contents (configuration, secrets, sockets, kernel state) a benchmark never needs. */
const SYSTEM = ['/etc', '/proc', '/sys', '/dev', '/boot', '/run', '/var/run', '/var/lib/docker', '/var/log'];
/** Folders in a home folder that hold credentials. */
const CREDENTIALS = [
  '.ssh',
  '.aws',
  '.gnupg',
  '.docker',
  '.kube',
  '.config',
  '.azure',
  '.netrc',
  '.git-credentials',
];
/** Block device names as Linux gives them, for machines whose /dev cannot be looked at from here. */
const BLOCK_DEVICE =
  /^\/dev\/((s|h|v|xv)d[a-z]+\d*|nvme\d+n\d+(p\d+)?|mmcblk\d+(p\d+)?|loop\d+|dm-\d+|md\d+|sr\d+|nbd\d+|rbd\d+|zram\d+|mapper\/.+|disk\/.+)$/;

/** One line per thing that exposes a machine (the same on several targets: once). */
export function mountWarnings(mounts: readonly Mount[], facts: MountFacts): string[] {
  const out: string[] = [];
  for (const m of mounts) {
    if (m.kind === 'folder') {
      const why = sensitiveFolder(facts.realpath(m.host), facts.home);
      if (why) out.push(`'${m.entry}' mounts ${m.host} at ${m.container}: ${why}`);
      continue;
    }
    const writable = /[wm]/.test(m.access);
    if (m.kind === 'device rule') {
      if (m.host.startsWith('b ') && writable)
        out.push(
          `'${m.entry}' has the device rule '${m.host}': the container may create and write block devices (the disks of its machine)`,
        );
      continue;
    }
    const block = (m.local ? facts.isBlockDevice(m.host) : undefined) ?? BLOCK_DEVICE.test(m.host);
    if (block && writable)
      out.push(
        `'${m.entry}' gets the block device ${m.host} with write access (${m.access}): the container can overwrite the disk under its machine`,
      );
  }
  return [...new Set(out)];
}

/** Why mounting this folder exposes the machine, or undefined when it does not. */
export function sensitiveFolder(folder: string, home: string): string | undefined {
  const p = path.resolve(folder);
  const within = (base: string) => p === base || p.startsWith(`${base}/`);
  if (p === '/') return 'the whole filesystem of the machine becomes readable in the container';
  const system = SYSTEM.find(within);
  if (system) return `${system} holds the machine's configuration, secrets or kernel state`;
  const homes = [home, '/root', '/home', '/Users'].filter((h) => h !== '/');
  if (homes.some((h) => h.startsWith(`${p}/`)) || p === '/home' || p === '/Users')
    return 'it holds home folders: SSH keys and cloud credentials become readable in the container';
  const owner = [home, '/root'].find((h) => h !== '/' && within(h)) ?? /^\/(home|Users)\/[^/]+/.exec(p)?.[0];
  if (owner === undefined) return undefined;
  if (p === owner) return 'a home folder: SSH keys and cloud credentials become readable in the container';
  const first = path.relative(owner, p).split(path.sep)[0]!;
  return CREDENTIALS.includes(first) ? `~/${first} holds credentials` : undefined;
}

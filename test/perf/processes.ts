/**
 * Which processes a perf figure's CPU comes from. A process is found from what is being
 * measured — the one listening on the socket a request goes to, the one holding the other
 * end of a connection — never by its name alone: with `scripts/services up` running there
 * are three dockerds here, and "the first `dockerd`" was a test host's engine, idle while
 * the local one served the requests (0.0 ms reported). Every perf script prints the list
 * (`printAccounted`), including "none" when it only measures wall time.
 *
 * Linux only, reads /proc; seeing other users' processes needs root (the scripts run so).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync, realpathSync } from 'node:fs';

export interface Proc {
  pid: number;
  name: string;
  role: string;
  /** Also count children it has waited for (cutime + cstime): short-lived sessions, CLIs. */
  withReaped?: boolean;
}

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

const read = (file: string): string | undefined => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
};

/** Fields of /proc/<pid>/stat after the command name (field 3 is index 0). */
function statFields(pid: number): string[] | undefined {
  const stat = read(`/proc/${pid}/stat`);
  return stat?.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** utime + stime (and, `withReaped`, cutime + cstime) of a process, ms; undefined once it is gone. */
export function cpuMs(pid: number, withReaped = false): number | undefined {
  if (pid === process.pid && !withReaped) {
    const u = process.cpuUsage(); // µs, where /proc has clock ticks (10 ms)
    return (u.user + u.system) / 1000;
  }
  const f = statFields(pid);
  if (!f) return undefined;
  const ticks = Number(f[11]) + Number(f[12]) + (withReaped ? Number(f[13]) + Number(f[14]) : 0);
  return (ticks * 1000) / CLK_TCK;
}

export const parentOf = (pid: number): number | undefined => {
  const f = statFields(pid);
  return f ? Number(f[1]) : undefined;
};

export const nameOf = (pid: number): string => read(`/proc/${pid}/comm`)?.trim() ?? '?';

export function proc(pid: number, role: string, withReaped = false): Proc {
  return { pid, name: nameOf(pid), role, ...(withReaped ? { withReaped } : {}) };
}

/** This process (the controller, or whatever plays it in the script). */
export const self = (role = 'this process (controller side)'): Proc => proc(process.pid, role);

const pids = (): number[] =>
  readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number);

/** pid → the socket inodes it holds. */
function socketInodes(pid: number): Set<number> {
  const out = new Set<number>();
  let fds: string[] = [];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return out;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) out.add(Number(m[1]));
    } catch {
      /* closed meanwhile */
    }
  }
  return out;
}

/** Processes holding any of `inodes`, sorted by pid. */
function holders(inodes: Set<number>): number[] {
  if (inodes.size === 0) return [];
  return pids().filter((pid) => [...socketInodes(pid)].some((i) => inodes.has(i)));
}

/** One pid per network namespace: /proc/<pid>/net/* shows the namespace of that pid. */
function oneProcPerNetns(): number[] {
  const seen = new Map<string, number>();
  for (const pid of pids()) {
    try {
      const ns = readlinkSync(`/proc/${pid}/ns/net`);
      if (!seen.has(ns)) seen.set(ns, pid);
    } catch {
      /* gone, or not ours to see */
    }
  }
  return [...seen.values()];
}

/**
 * The processes listening on a unix socket (the engine serving /var/run/docker.sock, a test
 * host's own engine). Looked up in every network namespace: a test host's dockerd lives in
 * its own.
 */
export function unixSocketServers(socketPath: string): number[] {
  const names = new Set([socketPath]);
  try {
    names.add(realpathSync(socketPath));
  } catch {
    /* not there: no server */
  }
  const inodes = new Set<number>();
  for (const pid of oneProcPerNetns())
    for (const line of (read(`/proc/${pid}/net/unix`) ?? '').split('\n').slice(1)) {
      // Num RefCount Protocol Flags Type St Inode Path; Flags 00010000 = listening.
      const f = line.trim().split(/\s+/);
      if (f[3] === '00010000' && f[7] && names.has(f[7])) inodes.add(Number(f[6]));
    }
  return holders(inodes);
}

/** "a.b.c.d:port" from /proc/net/tcp{,6} hex; IPv6 other than v4-mapped stays hex (matches no IPv4 host). */
function address(hex: string): string {
  const [ip = '', port = '0'] = hex.split(':');
  const v4 = ip.length === 8 ? ip : ip.startsWith('0000000000000000FFFF0000') ? ip.slice(24) : undefined;
  const host = v4
    ? (v4.match(/../g) ?? [])
        .reverse()
        .map((b) => parseInt(b, 16))
        .join('.')
    : ip;
  return `${host}:${parseInt(port, 16)}`;
}

/** TCP sockets (v4 and v6) of the network namespace of `nsPid`. */
function tcpSockets(nsPid: number) {
  return ['tcp', 'tcp6']
    .flatMap((f) => (read(`/proc/${nsPid}/net/${f}`) ?? '').split('\n').slice(1))
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length > 9)
    .map((f) => ({
      local: address(f[1]!),
      remote: address(f[2]!),
      listening: f[3] === '0A',
      inode: Number(f[9]),
    }));
}

/** Processes listening on TCP `port` (any address) in this process's network namespace, e.g. Elasticsearch. */
export function tcpListeners(port: number): number[] {
  const inodes = new Set(
    tcpSockets(process.pid)
      .filter((s) => s.listening && Number(s.local.split(':')[1]) === port)
      .map((s) => s.inode),
  );
  return holders(inodes);
}

/**
 * The processes serving this process's open TCP connections to `host:port` — the far end,
 * found in whichever network namespace holds it (a test host's sshd session).
 */
export function peersOf(host: string, port: number): number[] {
  const mine = socketInodes(process.pid);
  const ours = tcpSockets(process.pid).filter((s) => s.remote === `${host}:${port}` && mine.has(s.inode));
  const inodes = new Set<number>();
  for (const nsPid of oneProcPerNetns())
    for (const s of tcpSockets(nsPid))
      if (s.local === `${host}:${port}` && ours.some((o) => o.local === s.remote)) inodes.add(s.inode);
  return holders(inodes);
}

/** CPU ms per accounted process between `mark()` and `since()`; a process gone meanwhile counts NaN. */
export class CpuMeter {
  constructor(readonly procs: readonly Proc[]) {}

  mark(): Map<number, number | undefined> {
    return new Map(this.procs.map((p) => [p.pid, cpuMs(p.pid, p.withReaped)]));
  }

  since(m: Map<number, number | undefined>): Map<number, number> {
    return new Map(
      this.procs.map((p) => {
        const before = m.get(p.pid);
        const now = cpuMs(p.pid, p.withReaped);
        return [p.pid, before === undefined || now === undefined ? NaN : now - before];
      }),
    );
  }
}

/** Prints which processes a script accounted CPU for (and which it saw but left out, and why). */
export function printAccounted(
  procs: readonly Proc[],
  notCounted: readonly Proc[] = [],
  note?: string,
): void {
  const row = (p: Proc) =>
    `    ${String(p.pid).padStart(7)}  ${p.name.padEnd(15)}  ${p.role}${p.withReaped ? ' (+ children it reaped)' : ''}`;
  if (procs.length === 0)
    console.log(`CPU accounted for: none (wall-clock figures only${note ? `: ${note}` : ''})`);
  else {
    console.log('CPU accounted for (pid, name, role):');
    for (const p of procs) console.log(row(p));
  }
  if (notCounted.length > 0) {
    console.log('seen, not counted:');
    for (const p of notCounted) console.log(row(p));
  }
}

const cmdline = (pid: number): string[] => (read(`/proc/${pid}/cmdline`) ?? '').split('\0');

/**
 * The Docker engine serving `socketPath`: its dockerd, and a function listing the
 * containerd it drives and that containerd's shims running now (shims come and go with
 * containers; each names its containerd's socket in `-address` and its container in `-id`):
 * all of them, or only those of the containers in `ids` (others' containers on a shared
 * engine are not what is measured).
 */
export function dockerEngine(
  socketPath: string,
): { dockerd: number; containerd: (ids?: ReadonlySet<string>) => number[] } | undefined {
  const dockerd = unixSocketServers(socketPath).find((pid) => nameOf(pid) === 'dockerd');
  if (dockerd === undefined) return undefined;
  const containerd = (ids?: ReadonlySet<string>) => {
    const all = pids();
    let daemons = all.filter((pid) => parentOf(pid) === dockerd && nameOf(pid) === 'containerd');
    if (daemons.length === 0) daemons = unixSocketServers('/run/containerd/containerd.sock');
    const served = new Map<string, boolean>();
    const shims = all.filter((pid) => {
      if (!nameOf(pid).startsWith('containerd-shim')) return false;
      const args = cmdline(pid);
      const address = args[args.indexOf('-address') + 1];
      if (address === undefined) return false;
      if (ids && !ids.has(args[args.indexOf('-id') + 1] ?? '')) return false;
      if (!served.has(address))
        served.set(
          address,
          unixSocketServers(address).some((d) => daemons.includes(d)),
        );
      return served.get(address)!;
    });
    return [...daemons, ...shims];
  };
  return { dockerd, containerd };
}

/**
 * CPU package and DRAM energy from RAPL through the kernel's powercap interface
 * (Documentation/power/powercap/powercap.rst and Documentation/ABI/testing/sysfs-class-powercap
 * in the kernel tree): every zone is `<fsRoot>/sys/class/powercap/<control type>:<N>[:<M>]/`
 * with `name`, `energy_uj` (a counter in µJ that wraps to 0 past `max_energy_range_uj`) and
 * `max_energy_range_uj`. Zone names: `package-N` (`package-N-die-M` where a package has
 * several dies), and below a package its sub-zones `core`, `uncore` and `dram`; `psys` is a
 * zone of its own. AMD (family 17h and later, Hygon 18h) is served by the same kernel driver
 * (intel_rapl_msr with `rapl_defaults_amd`, Linux 5.8+), so its zones are `intel-rapl:N` too
 * (package and core only); there is no `amd-rapl` control type. Other Intel interfaces
 * (`intel-rapl-mmio`, `intel-rapl-tpmi`) can describe the same package again: zones are
 * told apart by what they measure (the label below), the MSR interface `intel-rapl` first.
 *
 * What is summed (`SUMMED_RAPL_KINDS`): packages and DRAM, which do not overlap: a package
 * is its cores and uncore (caches, memory controller, integrated graphics), DRAM the
 * memory beside it. `core` and `uncore` are parts of their package and `psys` is the whole
 * platform with the packages in it: those are sampled as power but never added, or energy
 * would be counted twice.
 *
 * Since the fix of CVE-2020-8694 (Platypus, November 2020, in every stable kernel since)
 * `energy_uj` is mode 0400: a controller that is not root gets EACCES, which `missing`
 * says with the path. The metrics agent runs as root in its container and can read it.
 *
 * Wrap-around: a reading lower than the one before means the counter wrapped once, so the
 * energy since is `range − previous + current`. A counter spans some 65 kJ (AMD) to 262 kJ
 * (Intel): minutes at full power; read on every sampler tick (≤ 60 s), no wrap is missed.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { silentLogger, type Logger } from '../core/index.js';
import { KernelFile, readSmall } from './kernel-file.js';

/** The files RAPL reading needs: a port, so tests can answer EACCES even to root (root ignores mode bits). */
export interface SysfsPort {
  list(dir: string): Promise<string[]>;
  /** A file to read again and again (kept open where it can be). */
  open(file: string): { read(): Promise<string>; close(): Promise<void> };
}

export const nodeSysfs: SysfsPort = {
  list: (dir) => readdir(dir),
  open: (file) => new KernelFile(file),
};

export type RaplKind = 'package' | 'dram' | 'core' | 'uncore' | 'psys' | 'other';

export interface RaplDomain {
  /** Unique on the machine: `package-0`, `dram-0` (the DRAM of package 0), `core-0`, `psys`. */
  label: string;
  kind: RaplKind;
  /** The zone's directory, e.g. `/sys/class/powercap/intel-rapl:0:2`. */
  dir: string;
  /** `max_energy_range_uj`. */
  rangeUj: number;
}

/** The kinds that do not overlap, so a machine's CPU and memory energy is their sum. */
export const SUMMED_RAPL_KINDS: ReadonlySet<RaplKind> = new Set<RaplKind>(['package', 'dram']);

export interface RaplReading {
  at: number;
  /** Each domain read this time: joules since this meter first read it, wraps included. */
  domains: Array<{ domain: RaplDomain; joules: number }>;
  /** Why some or all domains gave nothing this time. */
  missing?: string;
}

export interface RaplMeterOptions {
  /** Where the machine's /sys is: '/' (default) or `/host` in the agent container. */
  fsRoot?: string;
  fs?: SysfsPort;
  logger?: Logger;
}

const ZONE = /^([a-z0-9-]*rapl[a-z0-9-]*):(\d+)(?::(\d+))?$/;
const PREFERRED_TYPE = 'intel-rapl';

/** Energy consumed between two readings of a counter that wraps past `rangeUj`, in µJ. */
export function counterDelta(previousUj: number, currentUj: number, rangeUj: number): number {
  return currentUj >= previousUj ? currentUj - previousUj : Math.max(0, rangeUj - previousUj) + currentUj;
}

export class RaplMeter {
  readonly powercap: string;
  private readonly fs: SysfsPort;
  private readonly logger: Logger;
  private found: Promise<Discovery> | undefined;
  private readonly files = new Map<string, ReturnType<SysfsPort['open']>>();
  private readonly counters = new Map<string, { lastUj: number; totalUj: number }>();
  private readonly logged = new Set<string>();
  /** Reads are serialized: the counters' previous values are shared. */
  private previous: Promise<unknown> = Promise.resolve();

  constructor(options: RaplMeterOptions = {}) {
    this.powercap = path.join(path.resolve(options.fsRoot ?? '/'), 'sys/class/powercap');
    this.fs = options.fs ?? nodeSysfs;
    this.logger = options.logger ?? silentLogger;
  }

  /** Reads every domain's counter once. `at` is when (ms since the epoch). */
  read(at: number): Promise<RaplReading> {
    const run = this.previous.then(() => this.readNow(at));
    this.previous = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    await this.previous;
    await Promise.all([...this.files.values()].map((f) => f.close()));
    this.files.clear();
  }

  private async readNow(at: number): Promise<RaplReading> {
    const found = await (this.found ??= discoverRapl(this.powercap, this.fs));
    const problems: Problem[] = [];
    const domains: RaplReading['domains'] = [];
    for (const domain of found.domains) {
      const file = path.join(domain.dir, 'energy_uj');
      let text: string;
      try {
        let f = this.files.get(file);
        if (!f) this.files.set(file, (f = this.fs.open(file)));
        text = (await f.read()).trim();
      } catch (err) {
        problems.push(readProblem(err, file));
        continue;
      }
      const uj = Number(text);
      if (!/^\d+$/.test(text) || !Number.isSafeInteger(uj)) {
        problems.push({ reason: 'not a counter', path: file });
        continue;
      }
      let c = this.counters.get(domain.label);
      if (!c) this.counters.set(domain.label, (c = { lastUj: uj, totalUj: 0 }));
      c.totalUj += counterDelta(c.lastUj, uj, domain.rangeUj);
      c.lastUj = uj;
      domains.push({ domain, joules: c.totalUj / 1e6 });
    }
    const missing = [...found.problems, ...describeProblems(problems)].join('; ') || undefined;
    if (missing && !this.logged.has(missing)) {
      this.logged.add(missing);
      if (found.domains.length > 0) this.logger.warn(`energy: ${missing}`);
      else this.logger.debug(`energy: ${missing}`);
    }
    return { at, domains, ...(missing ? { missing } : {}) };
  }
}

interface Problem {
  reason: string;
  path: string;
  note?: string;
}

interface Discovery {
  domains: RaplDomain[];
  /** Whole sentences: there is one discovery per meter. */
  problems: string[];
}

/** The RAPL zones under `powercap` (a `/sys/class/powercap` directory), each measured once. */
export async function discoverRapl(powercap: string, fs: SysfsPort = nodeSysfs): Promise<Discovery> {
  let entries: string[];
  try {
    entries = await fs.list(powercap);
  } catch (err) {
    const why =
      errno(err) === 'ENOENT'
        ? `${powercap} does not exist (a kernel without powercap)`
        : `cannot list ${powercap} (${errno(err) ?? String(err)})`;
    return { domains: [], problems: [`no RAPL: ${why}`] };
  }
  const zones = entries.flatMap((entry) => {
    const m = ZONE.exec(entry);
    return m
      ? [{ entry, type: m[1]!, zone: Number(m[2]), sub: m[3] === undefined ? undefined : Number(m[3]) }]
      : [];
  });
  if (zones.length === 0) {
    const seen = entries.length > 0 ? ` (only ${entries.sort().join(', ')})` : '';
    return { domains: [], problems: [`no RAPL domain under ${powercap}${seen}`] };
  }
  zones.sort(
    (a, b) =>
      Number(b.type === PREFERRED_TYPE) - Number(a.type === PREFERRED_TYPE) ||
      a.type.localeCompare(b.type) ||
      a.zone - b.zone ||
      (a.sub ?? -1) - (b.sub ?? -1),
  );
  const names = new Map<string, string>();
  for (const z of zones)
    names.set(z.entry, await readSmall(path.join(powercap, z.entry, 'name'), (f) => fs.open(f)));

  const domains: RaplDomain[] = [];
  const problems: string[] = [];
  const taken = new Set<string>();
  for (const z of zones) {
    const dir = path.join(powercap, z.entry);
    const name = names.get(z.entry)!;
    if (!name) {
      problems.push(`RAPL zone skipped: ${path.join(dir, 'name')} unreadable`);
      continue;
    }
    const parent = z.sub === undefined ? undefined : (names.get(`${z.type}:${z.zone}`) ?? '');
    const { kind, label } = classify(name, parent, z.zone);
    if (taken.has(label)) continue; // the same part, already measured through another interface
    const rangeText = await readSmall(path.join(dir, 'max_energy_range_uj'), (f) => fs.open(f));
    const rangeUj = Number(rangeText);
    if (!/^\d+$/.test(rangeText) || !(rangeUj > 0)) {
      problems.push(
        `RAPL ${label} skipped: no ${path.join(dir, 'max_energy_range_uj')}, so no wrap-around handling`,
      );
      continue;
    }
    taken.add(label);
    domains.push({ label, kind, dir, rangeUj });
  }
  return { domains, problems };
}

/** What a zone measures, and a label unique on the machine (a sub-zone named after its package). */
function classify(name: string, parent: string | undefined, zone: number): { kind: RaplKind; label: string } {
  if (parent === undefined && name.startsWith('package-')) return { kind: 'package', label: name };
  if (parent === undefined && name === 'psys') return { kind: 'psys', label: name };
  const of = (parent ? /^package-(.+)$/.exec(parent)?.[1] : undefined) ?? String(zone);
  const kind: RaplKind = name === 'dram' || name === 'core' || name === 'uncore' ? name : 'other';
  return { kind, label: parent === undefined && kind === 'other' ? name : `${name}-${of}` };
}

function readProblem(err: unknown, file: string): Problem {
  const code = errno(err);
  if (code === 'EACCES' || code === 'EPERM')
    return {
      reason: 'permission denied',
      path: file,
      note: ' (energy_uj is root-only since the CVE-2020-8694 fix; the metrics agent reads it as root)',
    };
  return { reason: `unreadable (${code ?? String(err)})`, path: file };
}

/** Read problems grouped by reason, at most three paths each. */
function describeProblems(problems: readonly Problem[]): string[] {
  const byReason = new Map<string, Problem[]>();
  for (const p of problems) byReason.set(p.reason, [...(byReason.get(p.reason) ?? []), p]);
  return [...byReason].map(([reason, ps]) => {
    const more = ps.length > 3 ? ` and ${ps.length - 3} more` : '';
    const paths = ps.slice(0, 3).map((p) => p.path);
    return `RAPL ${reason}: ${paths.join(', ')}${more}${ps[0]!.note ?? ''}`;
  });
}

function errno(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : undefined;
}

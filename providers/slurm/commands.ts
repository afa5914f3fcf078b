/**
 * Slurm's commands as benchyard uses them: the argv it sends and the answers it reads.
 * Only formats benchyard asks for explicitly are parsed (`squeue -o`, `sinfo -o`), plus
 * `scontrol show … -o` (one `Key=Value` line per object, stable since Slurm 2.x) for what
 * no format string gives: the CPU ids, memory and GRES indices of an allocation (`-d`).
 * Formats: https://slurm.schedmd.com/squeue.html#OPT_format, sinfo.html#OPT_format,
 * scontrol.html (`show job -d`: "Nodes=… CPU_IDs=… Mem=… GRES=gpu:a100:1(IDX:0)").
 */

/** Where a Slurm command runs: the login node over SSH, or this machine. */
export interface SlurmShell {
  /** Runs argv (no shell); rejects with `CommandNotSent` when it provably never ran. */
  run(
    argv: readonly string[],
    signal?: AbortSignal,
  ): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Runs a shell script (sh -c). */
  script(text: string, signal?: AbortSignal): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Where, for messages: `root@login1:22` or `this machine`. */
  readonly where: string;
}

/** The command could not be sent (no channel, no process): it ran nowhere. */
export class CommandNotSent extends Error {}

/** Job states after which a job holds nothing (squeue %T, scontrol JobState). */
export const ENDED_STATES = new Set([
  'COMPLETED',
  'CANCELLED',
  'FAILED',
  'TIMEOUT',
  'PREEMPTED',
  'NODE_FAIL',
  'BOOT_FAIL',
  'DEADLINE',
  'OUT_OF_MEMORY',
  'REVOKED',
  'SPECIAL_EXIT',
]);

/** States of a job that has not started yet (or was put back in the queue). */
export const QUEUED_STATES = new Set(['PENDING', 'REQUEUED', 'REQUEUE_HOLD', 'REQUEUE_FED', 'SUSPENDED']);

/** What a holder job asks for. */
export interface HolderRequest {
  name: string;
  comment: string;
  partition: string;
  account?: string | undefined;
  qos?: string | undefined;
  reservation?: string | undefined;
  constraint?: string | undefined;
  exclude?: string | undefined;
  gres?: string | undefined;
  exclusive: boolean;
  cpus?: number | undefined;
  memory?: string | undefined;
  timeLimitMs: number;
}

/**
 * `sbatch` for a holder job: one task on one node that sleeps while benchyard runs
 * containers on the node's engine. Never requeued (a requeued holder would start again
 * elsewhere unseen); output discarded (the node may not share the login's file systems).
 */
export function sbatchArgv(r: HolderRequest): string[] {
  const minutes = Math.max(1, Math.ceil(r.timeLimitMs / 60_000));
  return [
    'sbatch',
    '--parsable',
    `--job-name=${r.name}`,
    `--comment=${r.comment}`,
    `--partition=${r.partition}`,
    ...(r.account ? [`--account=${r.account}`] : []),
    ...(r.qos ? [`--qos=${r.qos}`] : []),
    ...(r.reservation ? [`--reservation=${r.reservation}`] : []),
    ...(r.constraint ? [`--constraint=${r.constraint}`] : []),
    ...(r.exclude ? [`--exclude=${r.exclude}`] : []),
    ...(r.gres ? [`--gres=${r.gres}`] : []),
    ...(r.exclusive ? ['--exclusive'] : []),
    ...(r.cpus ? [`--cpus-per-task=${r.cpus}`] : []),
    ...(r.memory ? [`--mem=${r.memory}`] : []),
    '--nodes=1',
    '--ntasks=1',
    `--time=${minutes}`,
    '--no-requeue',
    '--output=/dev/null',
    '--error=/dev/null',
    '--chdir=/tmp',
    // Outlives the time limit: Slurm ends it, or benchyard's scancel.
    `--wrap=exec sleep ${minutes * 60 + 3600}`,
  ];
}

/** The job id of `sbatch --parsable` (`123` or `123;cluster`). */
export function parseSubmitted(stdout: string): string | undefined {
  const first = stdout.trim().split('\n').at(-1)?.split(';')[0]?.trim();
  return first && /^\d+$/.test(first) ? first : undefined;
}

/** `squeue` fields benchyard reads, in this order; the comment last (it may hold `|`). */
export const SQUEUE_FORMAT = '%i|%j|%u|%T|%r|%N|%Q|%P|%k';

export interface QueuedJob {
  id: string;
  name: string;
  user: string;
  state: string;
  reason: string;
  nodes: string;
  priority: number;
  partition: string;
  comment: string;
}

export function parseSqueue(stdout: string): QueuedJob[] {
  const jobs: QueuedJob[] = [];
  for (const line of stdout.split('\n')) {
    const f = line.split('|');
    if (f.length < 9 || !/^\d+/.test(f[0]!)) continue;
    jobs.push({
      id: f[0]!.trim(),
      name: f[1]!,
      user: f[2]!,
      state: f[3]!.trim(),
      reason: f[4]!,
      nodes: f[5]!,
      priority: Number(f[6]) || 0,
      partition: f[7]!,
      comment: f.slice(8).join('|'),
    });
  }
  return jobs;
}

/** squeue's answer for an id it no longer (or never) knew. */
export function isUnknownJob(stderr: string): boolean {
  return /invalid job id/i.test(stderr);
}

/**
 * `scontrol show … -o`: one object per line, `Key=Value` pairs separated by spaces. A value
 * may hold spaces (Command=, Comment= of others' jobs): a space starts a new pair only
 * where `Key=` follows. Keys seen twice (the per-node `Nodes=` of `-d`) keep every value.
 */
export function parseKeyValues(line: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const re = /(?:^|\s)([A-Za-z][A-Za-z0-9_:/.]*)=/g;
  const starts: { key: string; at: number; valueAt: number }[] = [];
  for (let m = re.exec(line); m; m = re.exec(line))
    starts.push({ key: m[1]!, at: m.index, valueAt: m.index + m[0].length });
  starts.forEach((s, i) => {
    const end = i + 1 < starts.length ? starts[i + 1]!.at : line.length;
    const value = line.slice(s.valueAt, end).trim();
    out.set(s.key, [...(out.get(s.key) ?? []), value]);
  });
  return out;
}

/** What `scontrol show job -d -o ID` says of a job's allocation. */
export interface JobDetails {
  id: string;
  state: string;
  reason: string;
  node?: string;
  /** Slurm's CPU ids on the node (`CPU_IDs=0-3`), as a cpuset list. */
  cpuIds?: string;
  /** MB of memory on the node. */
  memoryMb?: number;
  /** GRES with their indices: `gpu:a100:2(IDX:0-1)` → `[{ name: 'gpu', type: 'a100', indices: [0, 1] }]`. */
  gres: AllocatedGres[];
  comment: string;
  name: string;
  user: string;
}

export interface AllocatedGres {
  name: string;
  type?: string;
  count: number;
  indices: number[];
}

export function parseJobDetails(stdout: string): JobDetails | undefined {
  const line = stdout.split('\n').find((l) => l.startsWith('JobId='));
  if (!line) return undefined;
  const kv = parseKeyValues(line);
  const one = (k: string) => kv.get(k)?.[0];
  const node = one('Nodes') ?? nonNull(one('NodeList'));
  const mem = one('Mem');
  return {
    id: one('JobId') ?? '',
    state: one('JobState') ?? '',
    reason: one('Reason') ?? '',
    ...(node ? { node } : {}),
    ...(one('CPU_IDs') ? { cpuIds: one('CPU_IDs')! } : {}),
    ...(mem && /^\d+$/.test(mem) ? { memoryMb: Number(mem) } : {}),
    gres: parseAllocatedGres(one('GRES') ?? ''),
    comment: nonNull(one('Comment')) ?? '',
    name: one('JobName') ?? '',
    user: (one('UserId') ?? '').replace(/\(\d+\)$/, ''),
  };
}

/** `gpu:a100:2(IDX:0-1),fpga:1(IDX:0)` (scontrol -d, per node). */
export function parseAllocatedGres(text: string): AllocatedGres[] {
  const out: AllocatedGres[] = [];
  for (const m of text.matchAll(/([a-z][a-z0-9_]*)(?::([^:(,]+))?(?::(\d+))?\(IDX:([^)]*)\)/g)) {
    const [, name, typeOrCount, count, idx] = m;
    const typeIsCount = count === undefined && typeOrCount !== undefined && /^\d+$/.test(typeOrCount);
    const indices = expandIds(idx ?? '');
    out.push({
      name: name!,
      ...(typeOrCount && !typeIsCount ? { type: typeOrCount } : {}),
      count: Number(typeIsCount ? typeOrCount : (count ?? indices.length)),
      indices,
    });
  }
  return out;
}

/** `0-2,5` → [0, 1, 2, 5]; bounded so a hostile answer cannot blow up. */
export function expandIds(list: string): number[] {
  const out: number[] = [];
  for (const part of list.split(',')) {
    const m = /^\s*(\d+)(?:-(\d+))?\s*$/.exec(part);
    if (!m) continue;
    const from = Number(m[1]);
    const to = Math.min(Number(m[2] ?? m[1]), from + 4096);
    for (let i = from; i <= to; i++) out.push(i);
  }
  return out;
}

/** `sinfo -N` fields benchyard reads, in this order. */
export const SINFO_FORMAT = '%N|%o|%T|%c|%m|%G|%f';

export interface NodeInfo {
  name: string;
  address: string;
  state: string;
  cpus: number;
  memoryMb: number;
  gres: ConfiguredGres[];
  features: string[];
}

export interface ConfiguredGres {
  name: string;
  type?: string;
  count: number;
}

export function parseSinfoNodes(stdout: string): NodeInfo[] {
  const nodes: NodeInfo[] = [];
  for (const line of stdout.split('\n')) {
    const f = line.split('|');
    if (f.length < 7 || !f[0]) continue;
    nodes.push({
      name: f[0].trim(),
      address: f[1]!.trim(),
      state: f[2]!.trim(),
      cpus: Number(f[3]) || 0,
      memoryMb: Number(f[4]) || 0,
      gres: parseConfiguredGres(f[5]!),
      features: f[6]!.trim() === '(null)' ? [] : f[6]!.split(',').filter(Boolean),
    });
  }
  return nodes;
}

/** `gpu:a100:4(S:0-1),gpu:v100:2` or `(null)`; sockets and other suffixes are ignored. */
export function parseConfiguredGres(text: string): ConfiguredGres[] {
  const out: ConfiguredGres[] = [];
  for (const item of text
    .trim()
    .replace(/\([^)]*\)/g, '')
    .split(',')) {
    const parts = item.trim().split(':');
    if (!parts[0] || parts[0] === 'null' || !/^[a-z][a-z0-9_]*$/.test(parts[0])) continue;
    const last = parts.at(-1)!;
    const count = parts.length > 1 && /^\d+$/.test(last) ? Number(last) : 1;
    const type = parts.length === 3 || (parts.length === 2 && !/^\d+$/.test(last)) ? parts[1] : undefined;
    out.push({ name: parts[0], ...(type ? { type } : {}), count });
  }
  return out;
}

function nonNull(v: string | undefined): string | undefined {
  return v === undefined || v === '(null)' || v === '' ? undefined : v;
}

/**
 * `slurmd -G` (run on the node: Slurm's own reading of slurm.conf and gres.conf, AutoDetect
 * included): each GRES device file by its index, e.g. `Gres Name=gpu Type=fake Count=2
 * Index=0 ID=… File=/dev/fakegpu[2-3]` → gpu 0 → /dev/fakegpu2, gpu 1 → /dev/fakegpu3.
 * Slurm's indices are the order of the node's devices, not the numbers in their names.
 */
export function parseGresDevices(stdout: string): Map<string, Map<number, string>> {
  const out = new Map<string, Map<number, string>>();
  for (const line of stdout.split('\n')) {
    const kv = parseKeyValues(line.replace(/^\S*:\s*Gres\s+/, '').replace(/^Gres\s+/, ''));
    const name = kv.get('Name')?.[0];
    const index = Number(kv.get('Index')?.[0]);
    const file = kv.get('File')?.[0]?.split(/\s/)[0];
    if (!name || !Number.isInteger(index) || !file || file === '(null)') continue;
    const byIndex = out.get(name) ?? new Map<number, string>();
    expandBracket(file).forEach((f, k) => byIndex.set(index + k, f));
    out.set(name, byIndex);
  }
  return out;
}

/** `/dev/nvidia[0-1,3]` → each name, zero padding kept (`fpga[00-02]`); bounded. */
export function expandBracket(text: string): string[] {
  const m = /^([^[]*)\[([^\]]+)\](.*)$/.exec(text);
  if (!m) return [text];
  const [, head, list, tail] = m;
  const out: string[] = [];
  for (const part of list!.split(',')) {
    const r = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!r) continue;
    const width = r[1]!.length;
    const to = Math.min(Number(r[2] ?? r[1]), Number(r[1]) + 1024);
    for (let i = Number(r[1]); i <= to; i++) out.push(`${head}${String(i).padStart(width, '0')}${tail}`);
  }
  return out;
}

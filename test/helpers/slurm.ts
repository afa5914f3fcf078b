/**
 * The test Slurm cluster `scripts/services up slurm` starts: slurmctld on this machine and
 * a slurmd in each test host's namespace (nodes h1, h2 with two fake GPUs each as GRES),
 * h1's sshd as the login node. Its coordinates come from `scripts/services env slurm`, as a
 * user would get them. This machine is a Slurm client too: tests submit "foreign" jobs and
 * cancel or shorten benchyard's from here, as another user or an administrator would.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import { slurmTarget } from '../../src/config/targets/slurm.js';
import type { TargetSpec } from '../../src/core/index.js';
import { ROOT } from './catalog.js';

const run = promisify(execFile);

export interface DevSlurm {
  login: string;
  user: string;
  keyFile: string;
  knownHosts: string;
  partition: string;
  cluster: string;
  /** Another Unix user, for "someone else's job". */
  foreignUser: string;
}

/** Fails with the command that fixes it unless the test cluster is up. */
export async function requireSlurm(): Promise<DevSlurm> {
  let out: string;
  try {
    out = (await run(path.join(ROOT, 'scripts/services'), ['env', 'slurm'], { timeout: 30_000 })).stdout;
  } catch (err) {
    throw new Error(
      `the test Slurm cluster is not up (${(err as { stderr?: string }).stderr?.trim() || String(err)}); run \`scripts/services up slurm\` (as root)`,
    );
  }
  const env = new Map(
    [...out.matchAll(/^export ([A-Z_]+)=(?:'([^']*)'|"([^"]*)"|(\S*))$/gm)].map((m) => [
      m[1]!,
      m[2] ?? m[3] ?? m[4] ?? '',
    ]),
  );
  const need = (k: string) => {
    const v = env.get(k);
    if (!v) throw new Error(`scripts/services env slurm printed no ${k}`);
    return v;
  };
  await nodesResponding(need('BENCHYARD_SLURM_PARTITION'));
  return {
    login: need('BENCHYARD_SLURM_LOGIN'),
    user: need('BENCHYARD_SLURM_USER'),
    keyFile: need('BENCHYARD_SLURM_KEY'),
    knownHosts: need('BENCHYARD_SLURM_KNOWN_HOSTS'),
    partition: need('BENCHYARD_SLURM_PARTITION'),
    cluster: env.get('BENCHYARD_SLURM_CLUSTER') ?? 'benchyard',
    foreignUser: env.get('BENCHYARD_SLURM_FOREIGN_USER') ?? 'nobody',
  };
}

/**
 * Waits (bounded) until no node of the partition is down or not responding: a test that
 * cut a test host's link may have left its slurmd unheard for a while, and holder jobs would
 * then wait in the queue for it.
 */
async function nodesResponding(partition: string, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let states = '';
  for (;;) {
    states = (await slurm(['sinfo', '-h', '-N', '-p', partition, '-o', '%N=%T']).catch(() => '')).trim();
    if (states && !/=(down|drain|fail|not_responding)|\*/i.test(states)) return;
    if (Date.now() > deadline)
      throw new Error(
        `the test Slurm cluster's nodes are not all up after ${timeoutMs / 1000} s: ${states.replace(/\n/g, ' ')}`,
      );
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** A Slurm command on this machine; its stdout. */
export async function slurm(argv: string[]): Promise<string> {
  return (await run(argv[0]!, argv.slice(1), { timeout: 30_000 })).stdout;
}

/** squeue's state word of a job (`''` when Slurm no longer knows it). */
export async function jobState(id: string): Promise<string> {
  try {
    return (await slurm(['squeue', '-h', '-t', 'all', '-j', id, '-o', '%T'])).trim();
  } catch {
    return '';
  }
}

/** Every job Slurm keeps, as `id name state nodes comment`. */
export async function allJobs(): Promise<
  { id: string; name: string; state: string; node: string; comment: string }[]
> {
  const out = await slurm(['squeue', '-h', '-t', 'all', '-o', '%i|%j|%T|%N|%k']);
  return out
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [id, name, state, node, ...comment] = l.split('|');
      return { id: id!, name: name!, state: state!, node: node!, comment: comment.join('|') };
    });
}

/** Jobs that still hold something (not ended). */
export async function liveJobs(
  filter: (j: { name: string; state: string; comment: string }) => boolean = () => true,
) {
  return (await allJobs()).filter(
    (j) => ['PENDING', 'RUNNING', 'CONFIGURING', 'COMPLETING', 'SUSPENDED'].includes(j.state) && filter(j),
  );
}

/**
 * A job of someone else in the same partition (another Unix user, a benchyard-looking name
 * and comment, so that only a real ownership check spares it); its id.
 */
export async function submitForeign(c: DevSlurm, opts: { name?: string; comment?: string } = {}) {
  const out = await slurm([
    'runuser',
    '-u',
    c.foreignUser,
    '--',
    'sbatch',
    '--parsable',
    `--partition=${c.partition}`,
    `--job-name=${opts.name ?? 'benchyard-s-foreign'}`,
    `--comment=${opts.comment ?? 'benchyard:key=not-yours;session=s-foreign;owner=nobody@elsewhere;expires=2000-01-01T00:00:00.000Z'}`,
    '--output=/dev/null',
    '--chdir=/tmp',
    '--time=10',
    '--mem=100M',
    '--wrap=sleep 600',
  ]);
  return out.trim().split(';')[0]!;
}

/** The `ssh:` block of a slurm target for the test cluster (each node's engine on its own socket). */
export function testSsh(c: DevSlurm) {
  return {
    user: c.user,
    keyFile: c.keyFile,
    knownHosts: c.knownHosts,
    dockerSocket: '/run/benchyard-hosts/{node}/docker.sock',
    connectTimeout: '20s',
  };
}

/**
 * A slurm target on the test cluster: one fake GPU per allocation passed as its gres.conf
 * device file, up to two allocations, polled every 250 ms; `options` replace any of it.
 */
export function testTarget(c: DevSlurm, options: Record<string, unknown> = {}): TargetSpec {
  return {
    name: 'hpc',
    provider: 'slurm',
    options: slurmTarget.parse({
      login: { host: c.login },
      partition: c.partition,
      gres: 'gpu:fake:1',
      gpuDevices: 'gres',
      nodes: { min: 1, max: 2 },
      timeLimit: '10m',
      pollInterval: '250ms',
      ssh: testSsh(c),
      ...options,
    }),
  };
}

/**
 * The slurm provider against the real Slurm of `scripts/services up slurm` (slurmctld here,
 * slurmd in the test hosts' namespaces, h1's sshd as the login node): holder jobs with the
 * requested GRES, exclusive nodes between controllers with different state folders, jobs
 * Slurm ends making their machines lost, and gc that cancels only benchyard's own jobs.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SlurmProvider } from '../../providers/slurm/index.js';
import { Ssh2Connector } from '../../providers/ssh/index.js';
import {
  OwnershipError,
  silentLogger,
  systemClock,
  type Machine,
  type ProviderContext,
  type TargetSpec,
} from '../../src/core/index.js';
import { toRef } from '../../src/gc/model.js';
import { SqliteLedger } from '../../src/ledger/index.js';
import { until } from '../helpers/cli.js';
import { DEV_STATE_DIR } from '../helpers/remote-hosts.js';
import {
  jobState,
  liveJobs,
  requireSlurm,
  slurm,
  submitForeign,
  testTarget,
  type DevSlurm,
} from '../helpers/slurm.js';

let cluster: DevSlurm;
let state: string;
const foreign: string[] = [];
const held: { provider: SlurmProvider; machine: Machine }[] = [];

beforeAll(async () => {
  cluster = await requireSlurm();
  state = mkdtempSync(path.join(os.tmpdir(), 'benchyard-slurm-'));
});
afterEach(async () => {
  // Whatever a failed test left: machines released, foreign jobs cancelled.
  await Promise.allSettled(
    held.splice(0).map((h) => h.provider.release(h.machine, AbortSignal.timeout(60_000))),
  );
  if (foreign.length) await slurm(['scancel', ...foreign.splice(0)]).catch(() => undefined);
});
afterAll(() => rmSync(state, { recursive: true, force: true }));

/** A controller: its own session and state folder. */
function controller(session: string, progress: string[] = []) {
  const ledger = new SqliteLedger(mkdtempSync(path.join(state, 'state-')), session);
  const ctx: ProviderContext = {
    ledger,
    connector: new Ssh2Connector({ logger: silentLogger }),
    maxLifetimeMs: 3_600_000,
    clock: systemClock,
    logger: silentLogger,
    progress: (line) => progress.push(line),
  };
  return { ledger, provider: new SlurmProvider(ctx), progress };
}

function target(options: Record<string, unknown> = {}): TargetSpec {
  return testTarget(cluster, options);
}

async function acquire(
  c: ReturnType<typeof controller>,
  spec = target(),
  signal = AbortSignal.timeout(120_000),
) {
  const machine = await c.provider.acquire(spec, signal);
  held.push({ provider: c.provider, machine });
  return machine;
}

async function release(c: ReturnType<typeof controller>, machine: Machine) {
  held.splice(
    held.findIndex((h) => h.machine === machine),
    1,
  );
  await c.provider.release(machine, AbortSignal.timeout(60_000));
}

describe('slurm provider', () => {
  it(
    'a machine is a holder job with the requested GRES; release cancels it, confirmed, and closes the entry',
    { timeout: 120_000 },
    async () => {
      const c = controller('s-slurm-one');
      const machine = await acquire(c);
      const p = machine.placement!;
      expect(p).toMatchObject({ cluster: cluster.cluster, partition: cluster.partition });
      expect(['h1', 'h2']).toContain(p.node);
      expect(machine.hostname).toBe(p.node);
      expect(p.gres).toMatch(/^gpu:fake:\d\(IDX:/);
      expect(p.cpus).toMatch(/^[\d,-]+$/);
      const [job] = await liveJobs((j) => j.name === 'benchyard-s-slurm-one');
      expect(job).toMatchObject({ id: p.job, state: 'RUNNING', node: p.node });
      const entry = c.ledger.open({ session: 's-slurm-one' })[0]!;
      expect(job!.comment).toContain(`key=${entry.key};session=s-slurm-one`);
      expect(entry).toMatchObject({ provider: 'slurm', kind: 'job', resourceId: p.job, status: 'active' });
      expect(await machine.engine.ping(5_000)).toBe(true);

      await release(c, machine);
      expect(await jobState(p.job!)).toBe('CANCELLED');
      expect(c.ledger.open({ session: 's-slurm-one' })).toEqual([]);
    },
  );

  it(
    'two controllers with different state folders never share a node; a third allocation waits in the queue, saying why',
    { timeout: 180_000 },
    async () => {
      const a = controller('s-slurm-a');
      const b = controller('s-slurm-b');
      const [m1, m2] = await Promise.all([acquire(a), acquire(b)]);
      expect(new Set([m1!.hostname, m2!.hostname]).size).toBe(2);

      const waiting = controller('s-slurm-c');
      const third = acquire(waiting);
      await until(
        async () =>
          waiting.progress.some((l) => /waits in partition .*Resources/.test(l)) ? true : undefined,
        60_000,
        'the pending reason',
      );
      await release(a, m1!);
      const m3 = await third;
      expect(m3.hostname).toBe(m1!.hostname);
      expect(m3.hostname).not.toBe(m2!.hostname);
    },
  );

  it(
    "a job cancelled from outside makes its machine lost, with Slurm's word for it",
    { timeout: 120_000 },
    async () => {
      const c = controller('s-slurm-lost');
      const machine = await acquire(c);
      expect(machine.revoked?.aborted).toBe(false);
      await slurm(['scancel', machine.placement!.job!]);
      await until(
        async () => (machine.revoked!.aborted ? true : undefined),
        30_000,
        'the machine to be lost',
      );
      expect(String((machine.revoked!.reason as Error).message)).toMatch(
        new RegExp(`Slurm job ${machine.placement!.job} (ended: CANCELLED|is gone)`),
      );
      await release(c, machine);
      expect(c.ledger.open({ session: 's-slurm-lost' })).toEqual([]);
    },
  );

  it(
    "a job Slurm ends at its time limit makes its machine lost: TIMEOUT, Slurm's word",
    { timeout: 120_000 },
    async () => {
      const c = controller('s-slurm-timeout');
      const machine = await acquire(c);
      const job = machine.placement!.job!;
      // What `--time` does when it runs out, now (root may move a job's end; Slurm checks
      // limits every 30 s, so this takes up to that long).
      await until(
        () =>
          slurm(['scontrol', 'update', `JobId=${job}`, 'EndTime=now']).then(
            () => true,
            () => undefined,
          ),
        10_000,
        'scontrol to accept the new end time',
        500,
      );
      await until(
        async () => (machine.revoked!.aborted ? true : undefined),
        60_000,
        'the machine to be lost',
      );
      // Seen while the node still cleans up (COMPLETING, reason TimeLimit) or once it is done.
      expect(String((machine.revoked!.reason as Error).message)).toMatch(
        new RegExp(`Slurm job ${job} ended: (TIMEOUT|COMPLETING \\(TimeLimit\\))`),
      );
      await release(c, machine);
      expect(await jobState(job)).toBe('TIMEOUT');
      expect(c.ledger.open({ session: 's-slurm-timeout' })).toEqual([]);
    },
  );

  it(
    'the login connection dropping mid-run is opened again: a job ended from outside is still noticed, and release still cancels',
    { timeout: 120_000 },
    async () => {
      const c = controller('s-slurm-relogin');
      // On h2, so that dropping h1's SSH sessions (the login's) leaves the node's alone.
      const machine = await acquire(c, target({ exclude: 'h1' }));
      expect(machine.hostname).toBe('h2');
      const sshd = readFileSync(path.join(DEV_STATE_DIR, 'hosts', 'h1', 'sshd.pid'), 'utf8').trim();
      await slurm(['pkill', '-P', sshd]);
      await slurm(['scancel', machine.placement!.job!]);
      await until(
        async () => (machine.revoked!.aborted ? true : undefined),
        60_000,
        'the machine to be lost',
      );
      await release(c, machine);
      expect(c.ledger.open({ session: 's-slurm-relogin' })).toEqual([]);
    },
  );

  it(
    "gc cancels a dead controller's job and never one that is not its own",
    { timeout: 120_000 },
    async () => {
      const dead = controller('s-slurm-dead');
      const machine = await acquire(dead);
      held.pop(); // the controller "dies": nothing releases it
      foreign.push(await submitForeign(cluster));
      // A gc of the same ledger (same state folder) finds the entry and the job.
      const entry = dead.ledger.open({ session: 's-slurm-dead' })[0]!;
      const refs = await dead.provider.discover({
        hints: [toRef(entry)],
        signal: AbortSignal.timeout(30_000),
      });
      const ours = refs.find((r) => r.id === machine.placement!.job);
      const theirs = refs.find((r) => r.id === foreign[0]);
      expect(ours).toMatchObject({ ledgerKey: entry.key, session: 's-slurm-dead' });
      // The foreign job wears a benchyard name and comment: only the ownership check spares it.
      expect(theirs).toBeDefined();
      await expect(dead.provider.destroy(theirs!, AbortSignal.timeout(30_000))).rejects.toBeInstanceOf(
        OwnershipError,
      );
      await dead.provider.destroy(ours!, AbortSignal.timeout(60_000));
      expect(await jobState(machine.placement!.job!)).toBe('CANCELLED');
      expect(await jobState(foreign[0]!)).toMatch(/RUNNING|PENDING/);
      expect(await dead.provider.absent(toRef(entry), AbortSignal.timeout(30_000))).toBe(true);
    },
  );

  it(
    'a request the cluster cannot meet fails at once, recording nothing left open',
    { timeout: 60_000 },
    async () => {
      const c = controller('s-slurm-bad');
      const err = await c.provider
        .acquire(target({ gres: 'gpu:fake:9' }), AbortSignal.timeout(30_000))
        .catch((e: unknown) => e);
      expect(String(err)).toMatch(/sbatch .* (rejected|refused)/);
      expect(c.ledger.open({ session: 's-slurm-bad' })).toEqual([]);
    },
  );
});

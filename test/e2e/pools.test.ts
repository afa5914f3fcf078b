/**
 * Named pools through the CLI while a run uses them, against the real SSH hosts: a member
 * added from another shell joins the running run, a removed one finishes its cell and goes
 * back, one removed with --now has its cell stopped and re-run on the other member.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { SqliteLedger } from '../../src/ledger/index.js';
import { cli, startCli, until, type BackgroundCli } from '../helpers/cli.js';
import { hostEngine, requireSshHosts, type DevSshHost } from '../helpers/remote-hosts.js';

let h1: DevSshHost;
let h2: DevSshHost;

beforeAll(async () => {
  [h1, h2] = (await requireSshHosts()) as [DevSshHost, DevSshHost];
});

/** Every 50 ms: the join latency is measured with it. */
const poll = <T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string) =>
  until(probe, timeoutMs, what, 50);
const machineOf = (h: DevSshHost) => `ssh:${h.user}@${h.address}:${h.port}`;

interface Found {
  host: DevSshHost;
  id: string;
  /** The cell of a benchmark container; absent for the metrics agent. */
  cell?: string;
  running: boolean;
}

/** Every container of the session on both hosts, straight from their engines. */
async function containersOf(session: string): Promise<Found[]> {
  const all = await Promise.all(
    [h1, h2].map(async (host) =>
      (
        await hostEngine(host).listContainers({
          all: true,
          filters: { label: [`io.benchyard.session=${session}`] },
        })
      ).map((c) => ({
        host,
        id: c.Id,
        ...(c.Labels['io.benchyard.cell'] ? { cell: c.Labels['io.benchyard.cell'] } : {}),
        running: c.State === 'running',
      })),
    ),
  );
  return all.flat();
}

const benchmarksOn = async (session: string, host: DevSshHost) =>
  (await containersOf(session)).filter((c) => c.host === host && c.cell !== undefined);

/** sysbench-cpu cells of `time` seconds, one repetition each. */
function matrix(name: string, time: number, cells: number): string {
  const login = `{user: ${h1.user}, keyFile: ${h1.keyFile}, knownHosts: ${h1.knownHostsFile}, connectTimeout: 20s}`;
  return `name: ${name}\nrepetitions: 1\ntargets:\n  - name: lab\n    provider: ssh\n    pool: lab\n    ssh: ${login}\nbenchmarks:\n  - benchmark: sysbench-cpu\n    params: {time: ${time}, threads: [${Array.from({ length: cells }, (_, i) => i + 1).join(', ')}]}\n`;
}

function workdir(name: string, time: number, cells: number): { dir: string; file: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'by-pools-'));
  const file = path.join(dir, `${name}.yaml`);
  writeFileSync(file, matrix(name, time, cells));
  return { dir, file };
}

const addToPool = (dir: string, h: DevSshHost) =>
  cli(['pool', 'add', 'lab', h.address, '--docker-socket', h.dockerSocket], { cwd: dir });

interface RunJson {
  run: { status: string };
  results: { cellId: string; machineId: string; status: string; startedAt: string; finishedAt: string }[];
}

interface ListRow {
  host: string;
  state: string;
  now?: boolean;
  heldBy?: { session: string };
}

async function poolList(dir: string): Promise<ListRow[]> {
  const list = await cli(['pool', 'list', 'lab', '--json'], { cwd: dir });
  expect(list.code, list.stderr).toBe(0);
  return (JSON.parse(list.stdout) as { members: ListRow[] }).members;
}

const openEntries = (dir: string) => {
  const ledger = new SqliteLedger(path.join(dir, '.benchyard'), 'check');
  try {
    return ledger.open();
  } finally {
    ledger.dispose();
  }
};

/** Runs the matrix in the background; whatever happens, the run is stopped and its containers checked. */
async function withRun(
  name: string,
  opts: { members: DevSshHost[]; time: number; cells: number },
  body: (run: BackgroundCli, ctx: { dir: string; session: string }) => Promise<void>,
): Promise<void> {
  const { dir, file } = workdir(name, opts.time, opts.cells);
  const session = `s-e2e-${name}-${Date.now()}`;
  for (const h of opts.members) {
    const added = await addToPool(dir, h);
    expect(added.code, added.stderr).toBe(0);
  }
  const run = startCli(['-v', 'run', file, '--json'], dir, { BENCHYARD_SESSION: session });
  try {
    await body(run, { dir, session });
  } catch (err) {
    throw new Error(`${String(err)}\nthe run said:\n${run.out().stderr.slice(-4000)}`, { cause: err });
  } finally {
    if (run.child.exitCode === null) {
      run.child.kill('SIGINT');
      await Promise.race([run.exited, new Promise((r) => setTimeout(r, 30_000))]);
    }
  }
  expect(await containersOf(session)).toEqual([]);
  expect(openEntries(dir)).toEqual([]);
}

describe('pools of SSH machines that change while a run goes', () => {
  it(
    'a member added from another shell joins the running run and takes queued cells',
    { timeout: 180_000 },
    () =>
      withRun('join', { members: [h1], time: 4, cells: 10 }, async (run, { dir, session }) => {
        await poll(
          async () => ((await benchmarksOn(session, h1)).some((c) => c.running) ? true : undefined),
          90_000,
          'a benchmark container on h1',
        );
        expect(await benchmarksOn(session, h2)).toEqual([]);
        // Joining ships the images a host lacks first: that time is part of what is measured.
        const hadImage = await hostEngine(h2)
          .getImage('benchyard/bench-tools:1')
          .inspect()
          .then(
            () => true,
            () => false,
          );
        const added = await addToPool(dir, h2);
        expect(added.code, added.stderr).toBe(0);
        const addedAt = Date.now();
        await poll(
          async () => ((await benchmarksOn(session, h2)).length > 0 ? true : undefined),
          120_000,
          'a benchmark container on h2',
        );
        const latencyMs = Date.now() - addedAt;
        console.log(
          `pool join latency: ${latencyMs} ms from 'pool add' returning to h2's first benchmark container (${hadImage ? 'images already on h2' : 'images shipped first'})`,
        );

        expect(await run.exited).toBe(0);
        const out = JSON.parse(run.out().stdout) as RunJson;
        expect(out.run.status).toBe('passed');
        expect(out.results).toHaveLength(10);
        expect(out.results.every((r) => r.status === 'passed')).toBe(true);
        expect(new Set(out.results.map((r) => r.machineId))).toEqual(new Set([machineOf(h1), machineOf(h2)]));
        expect(run.out().stderr).toMatch(/machine ssh:root@10\.250\.2\.2:22 joined target 'lab'/);
      }),
  );

  it(
    'a removed member finishes its current cell, takes no other and is given back at once',
    { timeout: 180_000 },
    () =>
      withRun('drain', { members: [h1, h2], time: 3, cells: 8 }, async (run, { dir, session }) => {
        const onBoth = async () => {
          const running = (await containersOf(session)).filter((c) => c.cell !== undefined && c.running);
          return new Set(running.map((c) => c.host)).size === 2 ? running : undefined;
        };
        const running = await poll(onBoth, 90_000, 'benchmark containers on both hosts');
        const removed = await cli(['pool', 'remove', 'lab', h2.address], { cwd: dir });
        expect(removed.code, removed.stderr).toBe(0);
        const removedAt = Date.now();
        const cellOnH2 = running.find((c) => c.host === h2)!.cell!;

        // h2's lease goes back while h1 still works through the queue.
        await poll(
          async () =>
            openEntries(dir).some((e) => e.resourceId?.endsWith(`@${h2.address}:22`)) ? undefined : true,
          60_000,
          "h2's lease to be returned",
        );
        expect(run.child.exitCode).toBe(null);
        const during = await poolList(dir);
        expect(during.find((m) => m.host === h2.address)).toMatchObject({ state: 'removed' });
        expect(during.find((m) => m.host === h2.address)!.heldBy).toBeUndefined();
        expect(during.find((m) => m.host === h1.address)!.heldBy?.session).toBe(session);

        expect(await run.exited).toBe(0);
        const out = JSON.parse(run.out().stdout) as RunJson;
        expect(out.results).toHaveLength(8);
        expect(out.results.every((r) => r.status === 'passed')).toBe(true);
        const onH2 = out.results.filter((r) => r.machineId === machineOf(h2));
        // The cell that ran there was finished there, not stopped.
        expect(onH2.map((r) => r.cellId)).toContain(cellOnH2);
        // Nothing started there after the run saw the removal (it looks once a second).
        for (const r of onH2) expect(Date.parse(r.startedAt)).toBeLessThan(removedAt + 2_000);
        expect(run.out().stderr).toMatch(/left target 'lab': it finishes its current cells/);

        const after = await poolList(dir);
        expect(after.map((m) => [m.host, m.state])).toEqual([
          [h1.address, 'active'],
          [h2.address, 'removed'],
        ]);
        expect(after.every((m) => m.heldBy === undefined)).toBe(true);
      }),
  );

  it(
    'remove --now stops the running cell and runs it again on the other member; the run passes',
    { timeout: 180_000 },
    () =>
      withRun('now', { members: [h1, h2], time: 6, cells: 6 }, async (run, { dir, session }) => {
        // A cell that has just started on h2 (while h1 works too), so it is stopped well before its end.
        const fresh = async () => {
          const running = (await containersOf(session)).filter((c) => c.cell !== undefined && c.running);
          if (!running.some((c) => c.host === h1)) return undefined;
          for (const c of running.filter((r) => r.host === h2)) {
            const info = await hostEngine(h2)
              .getContainer(c.id)
              .inspect()
              .catch(() => undefined);
            if (info?.State.Running && Date.now() - Date.parse(info.State.StartedAt) < 1_000) return c;
          }
          return undefined;
        };
        const stopped = await poll(fresh, 90_000, 'a cell starting on h2');
        const removed = await cli(['pool', 'remove', 'lab', h2.address, '--now'], { cwd: dir });
        expect(removed.code, removed.stderr).toBe(0);

        const code = await run.exited;
        const { stdout, stderr } = run.out();
        expect(code, stderr.slice(-4000)).toBe(0);
        expect(stderr).toMatch(/was stopped on ssh:root@10\.250\.2\.2:22 \(withdrawn from its pool\)/);
        const out = JSON.parse(stdout) as RunJson;
        expect(out.run.status).toBe('passed');
        expect(out.results.every((r) => r.status === 'passed')).toBe(true);
        expect(new Set(out.results.map((r) => r.cellId)).size).toBe(6);
        expect(out.results).toHaveLength(6);
        // The stopped cell ran again, on h1.
        expect(out.results.find((r) => r.cellId === stopped.cell)!.machineId).toBe(machineOf(h1));

        const stored = JSON.parse((await cli(['results', '--json'], { cwd: dir })).stdout) as RunJson;
        expect(stored.results.filter((r) => r.status === 'passed')).toHaveLength(6);
        expect(stored.results).toHaveLength(6);
        const after = await poolList(dir);
        expect(after.find((m) => m.host === h2.address)).toMatchObject({ state: 'removed', now: true });
        expect(after.every((m) => m.heldBy === undefined)).toBe(true);
      }),
  );
});

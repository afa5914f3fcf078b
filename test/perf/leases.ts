/**
 * What machine leases cost over SSH, against test host h1 (`scripts/services up hosts`):
 * taking a lease (docker info for the engine id and clock + image check + create + the lease
 * file), renewing it (one archive upload: what the heartbeat does every ttl/4), reading the
 * holder (what `pool list` and a waiting controller do), returning it; beside the baseline of
 * one Docker API call on the same connection. Then the hand-over: how long a second
 * controller, waiting with the CLI's poll interval, takes to start after the first returns
 * the machine. Prints figures; asserts nothing. `npm run perf:leases [-- N]` (default 30).
 */
import { pack } from 'tar-stream';
import { SshHostsProvider, Ssh2Connector } from '../../providers/ssh/index.js';
import { sshHostsTarget } from '../../src/config/targets/ssh-hosts.js';
import { silentLogger, systemClock, type TargetSpec } from '../../src/core/index.js';
import { SqliteLedger } from '../../src/ledger/index.js';
import { EngineLeases, LEASE_CONTAINER } from '../../src/lease/index.js';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEV_SSH_HOSTS, devEndpoint, requireSshHosts } from '../helpers/remote-hosts.js';
import { printAccounted } from './processes.js';

const N = Number(process.argv[2] ?? 30);
const HANDOVERS = 5;
/** The CLI's poll interval while waiting for a machine (src/cli/providers.ts). */
const POLL_MS = 2_000;

function stats(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(s.length * p))]!;
  return `${q(0.5).toFixed(1).padStart(8)} ${q(0.95).toFixed(1).padStart(8)}`;
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

async function main(): Promise<void> {
  await requireSshHosts();
  const h = DEV_SSH_HOSTS[0]!;
  const endpoint = devEndpoint(h);
  const connector = new Ssh2Connector({ logger: silentLogger });
  const session = await connector.connect(endpoint, AbortSignal.timeout(30_000));
  const docker = session.docker;
  const leases = new EngineLeases({ session: 's-perf', owner: 'perf@test', logger: silentLogger });
  const req = () => ({
    machine: 'ssh:perf',
    target: 'perf',
    shareEngine: false,
    signal: AbortSignal.timeout(30_000),
  });
  await (await leases.take(docker, req())).release(); // warm: the lease image is imported once

  const baseline: number[] = [];
  const take: number[] = [];
  const renew: number[] = [];
  const read: number[] = [];
  const release: number[] = [];
  const file = await leaseTar();
  for (let i = 0; i < N; i++) {
    baseline.push(await time(() => docker.listContainers()));
    let lease: Awaited<ReturnType<EngineLeases['take']>> | undefined;
    take.push(await time(async () => (lease = await leases.take(docker, req()))));
    // What the heartbeat sends: the lease file into the lease container by id.
    const { Id } = await docker.getContainer(LEASE_CONTAINER).inspect();
    renew.push(await time(() => docker.getContainer(Id).putArchive(file, { path: '/' })));
    read.push(await time(() => leases.read(docker, AbortSignal.timeout(10_000))));
    release.push(await time(() => lease!.release()));
  }
  await session.close();

  // Hand-over between two controllers (own sessions, own state folders).
  const target: TargetSpec = {
    name: 'perf',
    provider: 'ssh',
    options: sshHostsTarget.parse({
      hosts: [{ host: h.address, dockerSocket: h.dockerSocket }],
      ssh: { user: h.user, keyFile: h.keyFile, knownHosts: h.knownHostsFile },
    }),
  };
  const controller = (s: string) =>
    new SshHostsProvider({
      ledger: new SqliteLedger(mkdtempSync(path.join(os.tmpdir(), 'by-perf-lease-')), s),
      connector,
      maxLifetimeMs: 3_600_000,
      clock: systemClock,
      logger: silentLogger,
      leases: new EngineLeases({ session: s, owner: `${s}@perf`, logger: silentLogger }),
      leasePollMs: POLL_MS,
    });
  const handover: number[] = [];
  for (let i = 0; i < HANDOVERS; i++) {
    const a = controller(`s-perf-a${i}`);
    const b = controller(`s-perf-b${i}`);
    const held = await a.acquire(target, AbortSignal.timeout(30_000));
    const waiting = b.acquire(target, AbortSignal.timeout(60_000));
    // Let the second one find the machine busy and start polling, at a random phase.
    await new Promise((r) => setTimeout(r, 500 + Math.random() * POLL_MS));
    await a.release(held, AbortSignal.timeout(30_000));
    const t0 = performance.now();
    const got = await waiting;
    handover.push(performance.now() - t0);
    await b.release(got, AbortSignal.timeout(30_000));
  }

  console.log(`machine leases over SSH to ${h.address}, ${N} each (ms)`);
  printAccounted([], [], "round trips over SSH to h1's engine");
  console.log('                                              median      p95');
  console.log(`baseline: one Docker API call (listContainers) ${stats(baseline)}`);
  console.log(`take a lease                                   ${stats(take)}`);
  console.log(`renew (heartbeat, every ttl/4 = 15 s)          ${stats(renew)}`);
  console.log(`read the holder (pool list, a waiting run)     ${stats(read)}`);
  console.log(`return the lease                               ${stats(release)}`);
  console.log(
    `second controller starts after the first returns the machine (poll ${POLL_MS} ms, ${HANDOVERS} hand-overs): ${stats(handover)}`,
  );
}

async function leaseTar(): Promise<Buffer> {
  const tar = pack();
  tar.entry(
    { name: 'lease.json' },
    JSON.stringify({ token: 'x'.repeat(16), expiresAt: new Date().toISOString() }),
  );
  tar.finalize();
  const chunks: Buffer[] = [];
  for await (const c of tar as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

void main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);

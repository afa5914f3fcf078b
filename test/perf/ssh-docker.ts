/**
 * Docker API round trip to a remote machine, `GET /containers/json` (listContainers), on
 * each test host (`scripts/services up hosts`), three ways side by side:
 *
 *  - benchyard: dockerode over Ssh2Connector's http.Agent (one persistent SSH connection,
 *    the Docker socket forwarded per request);
 *  - raw channel: the same request written by hand on a `direct-streamlocal` channel of the
 *    same ssh2 connection, no dockerode, no http.Agent: once with a channel opened per
 *    request (what a connection per request costs at best) and once on one channel kept
 *    open (keep-alive: the floor of an API call over this connection);
 *  - dockerode's own `protocol: 'ssh'` (a new SSH connection + `docker system dial-stdio`
 *    per request).
 *
 * The first three are interleaved request by request, so a busy moment of the machine hits
 * them alike. Median and p95 of N each, and the CPU each path cost per request in the
 * processes printed at the start. Asserts nothing. `npm run perf:ssh [-- N]` (default 60).
 *
 * Note: `docker system dial-stdio` on the host talks to the host's default socket, so the
 * built-in path reaches the engine at /var/run/docker.sock while the others reach the test
 * host's own engine; both are one API call over SSH to a local engine, which is compared.
 */
import Docker from 'dockerode';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from 'ssh2';
import { Ssh2Connector } from '../../providers/ssh/index.js';
import { silentLogger, type SshSession } from '../../src/core/index.js';
import { DEV_SSH_HOSTS, devEndpoint, requireSshHosts, type DevSshHost } from '../helpers/remote-hosts.js';
import {
  CpuMeter,
  nameOf,
  parentOf,
  peersOf,
  printAccounted,
  proc,
  self,
  unixSocketServers,
  type Proc,
} from './processes.js';
import { rawRequest, RawKeepAlive } from './raw-docker-channel.js';

const N = Math.max(50, Number(process.argv[2] ?? 60));
const REQUEST = 'GET /containers/json HTTP/1.1\r\nHost: docker\r\n';

function stats(xs: number[]): { median: number; p95: number } {
  const s = [...xs].sort((a, b) => a - b);
  return {
    median: s[Math.floor(s.length / 2)]!,
    p95: s[Math.min(s.length - 1, Math.floor(s.length * 0.95))]!,
  };
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

interface Path {
  name: string;
  run: () => Promise<unknown>;
  times: number[];
  cpu: Map<number, number>;
}

/** Runs the paths' requests interleaved, one of each per round, so drift hits them alike. */
async function interleaved(paths: Path[], n: number): Promise<void> {
  for (const p of paths) await p.run(); // warm: JIT, channel paths
  for (let i = 0; i < n; i++) for (const p of paths) p.times.push(await timed(p.run));
}

/** CPU of each accounted process per request, over `n` requests of one path in a row (clock ticks are 10 ms). */
async function cpuPerRequest(p: Path, n: number, meter: CpuMeter): Promise<void> {
  const m = meter.mark();
  for (let i = 0; i < n; i++) await p.run();
  for (const [pid, ms] of meter.since(m)) p.cpu.set(pid, ms / n);
}

const one = (pids: number[], socket: string): number => {
  if (pids.length === 0) throw new Error(`nothing listens on ${socket}`);
  return pids[0]!;
};

async function host(h: DevSshHost): Promise<void> {
  const t0 = performance.now();
  const session: SshSession = await new Ssh2Connector({ logger: silentLogger }).connect(
    devEndpoint(h),
    AbortSignal.timeout(30_000),
  );
  const connectMs = performance.now() - t0;
  // The connection benchyard's agent uses (a private field: this script measures what is
  // beneath the agent, on the very same connection).
  const conn = (session as unknown as { conn: Client }).conn;
  const keepAlive = new RawKeepAlive(conn, h.dockerSocket, REQUEST);

  // Who serves these requests: the sshd processes holding the far end of our connection,
  // their listener (the top sshd above them), and the engine listening on the forwarded socket.
  const serving = peersOf(h.address, h.port);
  if (serving.length === 0) throw new Error(`cannot find the sshd serving our connection to ${h.address}`);
  let listener = serving[0]!;
  while (nameOf(parentOf(listener) ?? 0) === 'sshd') listener = parentOf(listener)!;
  const procs: Proc[] = [
    self('controller: ssh2 client, dockerode'),
    ...serving.map((pid) => proc(pid, `sshd serving our connection to ${h.name}`)),
    proc(
      one(unixSocketServers(h.dockerSocket), h.dockerSocket),
      `${h.name}'s engine (listens on ${h.dockerSocket})`,
    ),
    proc(listener, `${h.name}'s sshd listener: the per-request sessions of protocol 'ssh'`, true),
    proc(
      one(unixSocketServers('/var/run/docker.sock'), '/var/run/docker.sock'),
      "engine on /var/run/docker.sock (protocol 'ssh' reaches it through dial-stdio)",
    ),
  ];
  const meter = new CpuMeter(procs);
  console.log(
    `\n${h.name} (${h.address}), ${N} GET /containers/json each; connect once: ${connectMs.toFixed(0)} ms`,
  );
  printAccounted(procs);

  const paths: Path[] = [
    { name: 'benchyard (dockerode + Ssh2Connector agent)', run: () => session.docker.listContainers() },
    { name: 'raw channel, one per request', run: () => rawRequest(conn, h.dockerSocket, REQUEST) },
    { name: 'raw channel, kept open (keep-alive)', run: () => keepAlive.request() },
  ].map((p) => ({ ...p, times: [], cpu: new Map() }));
  await interleaved(paths, N);
  for (const p of paths) await cpuPerRequest(p, 4 * N, meter);
  keepAlive.close();
  await session.close();
  // Its sshd exits and is reaped by the listener: let that happen before the listener is measured.
  for (let i = 0; i < 40 && serving.some((pid) => nameOf(pid) !== '?'); i++) await sleep(50);

  const builtin = new Docker({
    protocol: 'ssh',
    host: h.address,
    port: h.port,
    username: h.user,
    sshOptions: { privateKey: readFileSync(h.keyFile) },
  } as Docker.DockerOptions);
  const dockerode: Path = {
    name: "dockerode protocol 'ssh' (per request)",
    run: () => builtin.listContainers(),
    times: [],
    cpu: new Map(),
  };
  // Slow enough (one SSH handshake a request) for its timed requests to be its CPU block too.
  const m = meter.mark();
  await interleaved([dockerode], N);
  for (const [pid, ms] of meter.since(m)) dockerode.cpu.set(pid, ms / (N + 1));
  paths.push(dockerode);

  const fmt = (x: number) => x.toFixed(2).padStart(8);
  console.log(`${''.padEnd(46)}   median      p95   CPU ms/request: ${procs.map((p) => p.pid).join(' / ')}`);
  for (const p of paths) {
    const s = stats(p.times);
    const cpu = procs
      .map((q) => {
        const v = p.cpu.get(q.pid) ?? NaN;
        return Number.isNaN(v) ? '-' : v.toFixed(2);
      })
      .join(' / ');
    console.log(`${p.name.padEnd(46)} ${fmt(s.median)} ${fmt(s.p95)}   ${cpu}`);
  }
  const ours = stats(paths[0]!.times).median;
  const rawPer = stats(paths[1]!.times).median;
  const rawKept = stats(paths[2]!.times).median;
  const theirs = stats(dockerode.times).median;
  const floor = Math.min(rawPer, rawKept);
  console.log(
    `benchyard - raw floor: ${(ours - floor).toFixed(2)} ms (target <= 2 ms)  ` +
      `${ours - floor <= 2 ? 'ok' : 'MISS'};  vs protocol 'ssh': ${(theirs / ours).toFixed(0)}x faster (target >= 20x)  ` +
      `${theirs / ours >= 20 ? 'ok' : 'MISS'}`,
  );
}

async function main(): Promise<void> {
  await requireSshHosts();
  console.log(
    `perf:ssh ${new Date().toISOString()}  load ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  for (const h of DEV_SSH_HOSTS) await host(h);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

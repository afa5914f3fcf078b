/**
 * Docker API round trip to a remote machine: one persistent SSH connection with a forwarded
 * channel per request (benchyard's Ssh2Connector) against dockerode's built-in
 * `protocol: 'ssh'` (a new SSH connection + `docker system dial-stdio` per request).
 * Median and p95 of N `listContainers` each, against test host h1 (`scripts/services up
 * hosts`). Prints figures; asserts nothing. `npm run perf:ssh [-- N]` (default 100).
 *
 * Note: `docker system dial-stdio` on the host talks to the host's default socket, so the
 * built-in path reaches the engine at /var/run/docker.sock while benchyard's reaches h1's
 * own engine; both are one API call over SSH to a local engine, which is what is compared.
 */
import Docker from 'dockerode';
import { readFileSync } from 'node:fs';
import { Ssh2Connector } from '../../providers/ssh/index.js';
import { silentLogger } from '../../src/core/index.js';
import { DEV_SSH_HOSTS, devEndpoint, requireSshHosts } from '../helpers/remote-hosts.js';

const N = Number(process.argv[2] ?? 100);

function stats(xs: number[]): { median: number; p95: number } {
  const s = [...xs].sort((a, b) => a - b);
  return {
    median: s[Math.floor(s.length / 2)]!,
    p95: s[Math.min(s.length - 1, Math.floor(s.length * 0.95))]!,
  };
}

async function timeEach(n: number, fn: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}

async function main(): Promise<void> {
  await requireSshHosts();
  const h = DEV_SSH_HOSTS[0]!;
  const t0 = performance.now();
  const session = await new Ssh2Connector({ logger: silentLogger }).connect(
    devEndpoint(h),
    AbortSignal.timeout(30_000),
  );
  const connectMs = performance.now() - t0;
  await session.docker.listContainers(); // warm
  const persistent = stats(await timeEach(N, () => session.docker.listContainers()));
  await session.close();

  const builtin = new Docker({
    protocol: 'ssh',
    host: h.address,
    port: h.port,
    username: h.user,
    sshOptions: { privateKey: readFileSync(h.keyFile) },
  } as Docker.DockerOptions);
  await builtin.listContainers(); // warm
  const perRequest = stats(await timeEach(N, () => builtin.listContainers()));

  const fmt = (x: number) => x.toFixed(1).padStart(8);
  console.log(`Docker API round trip over SSH to ${h.address}, ${N} listContainers each (ms)`);
  console.log(`                                           median      p95`);
  console.log(
    `benchyard: one persistent connection   ${fmt(persistent.median)} ${fmt(persistent.p95)}   (connect once: ${connectMs.toFixed(0)} ms)`,
  );
  console.log(`dockerode protocol 'ssh' (per request) ${fmt(perRequest.median)} ${fmt(perRequest.p95)}`);
  console.log(`speed-up (median): ${(perRequest.median / persistent.median).toFixed(1)}x   (target >= 5x)`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

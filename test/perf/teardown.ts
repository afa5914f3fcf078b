/**
 * The teardown guarantee under Ctrl-C: a matrix that provisions 20 EC2 instances (moto,
 * backed by the two SSH test hosts) is interrupted with SIGINT at N random moments (default
 * 20) between 0 and 8 s after start — while instances are being created, connected,
 * prepared, or running cells. After each exit: instances of that session not terminated in
 * moto, and ledger entries left open. Bounded: each trial is killed after 3 minutes.
 * `npm run build && npm run perf:teardown [-- N] [-- --seed S]`. Prints figures; asserts nothing.
 */
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SqliteLedger } from '../../src/ledger/index.js';
import { BIN } from '../helpers/cli.js';
import { DEV_SSH_HOSTS, MOTO_ENDPOINT, requireMoto, requireSshHosts } from '../helpers/remote-hosts.js';
import { printAccounted } from './processes.js';

const args = process.argv.slice(2);
const N = Number(args.find((a) => /^\d+$/.test(a)) ?? 20);
let seed = Number(args[args.indexOf('--seed') + 1] ?? Date.now() % 100_000) || 1;
const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;

const ec2 = new EC2Client({
  region: 'us-east-1',
  endpoint: MOTO_ENDPOINT,
  credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
});

async function liveInstances(session: string): Promise<number> {
  const out = await ec2.send(
    new DescribeInstancesCommand({
      Filters: [
        { Name: 'tag:benchyard:session', Values: [session] },
        {
          Name: 'instance-state-name',
          Values: ['pending', 'running', 'stopping', 'stopped', 'shutting-down'],
        },
      ],
    }),
  );
  return out.Reservations?.flatMap((r) => r.Instances ?? []).length ?? 0;
}

async function main(): Promise<void> {
  const hosts = await requireSshHosts();
  await requireMoto();
  const h = hosts[0]!;
  const threads = Array.from({ length: 20 }, (_, i) => i + 1).join(', ');
  const matrix = `name: teardown\nrepetitions: 1\ntargets:\n  - name: gpu\n    provider: aws\n    regions: [us-east-1]\n    instanceType: g4dn.xlarge\n    ami: ami-12c6146b\n    count: 20\n    endpoint: ${MOTO_ENDPOINT}\n    ssh: {user: root, keyFile: ${h.keyFile}, knownHosts: ${h.knownHostsFile}, dockerSocket: ${h.dockerSocket}, connectTimeout: 30s}\nbenchmarks:\n  - benchmark: sysbench-cpu\n    params: {time: 2, threads: [${threads}]}\n`;
  console.log(`SIGINT at ${N} random moments in [0, 8] s while provisioning 20 instances (seed ${seed})`);
  printAccounted([], [], 'counts what is left behind, and the time from SIGINT to exit');
  console.log('trial  at_ms  live_at_sigint  exit  exit_ms  not_terminated  ledger_open');
  let leaked = 0;
  let open = 0;
  const exitMs: number[] = [];
  for (let trial = 1; trial <= N; trial++) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'by-teardown-'));
    const file = path.join(dir, 'm.yaml');
    writeFileSync(file, matrix);
    const session = `s-teardown-${Date.now()}-${trial}`;
    const child = spawn(process.execPath, [BIN, 'run', file], {
      cwd: dir,
      stdio: 'ignore',
      env: {
        ...process.env,
        CI: 'true',
        BENCHYARD_SESSION: session,
        // Every instance stands on h1 (one address: h2's engine would need the image too).
        BENCHYARD_TEST_ADDRESSES: DEV_SSH_HOSTS[0]!.address,
        BENCHYARD_TEST_POLL_MS: '200',
        AWS_ACCESS_KEY_ID: 'testing',
        AWS_SECRET_ACCESS_KEY: 'testing',
      },
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const at = Math.round(random() * 8_000);
    await new Promise((r) => setTimeout(r, at));
    child.kill('SIGINT');
    const t0 = performance.now();
    const liveAtSigint = await liveInstances(session);
    const killer = setTimeout(() => child.kill('SIGKILL'), 180_000);
    const code = await exited;
    clearTimeout(killer);
    const ms = performance.now() - t0;
    exitMs.push(ms);
    const notTerminated = await liveInstances(session);
    const ledger = new SqliteLedger(path.join(dir, '.benchyard'), 'check');
    const ledgerOpen = ledger.open({ session }).length;
    ledger.dispose();
    leaked += notTerminated;
    open += ledgerOpen;
    console.log(
      `${String(trial).padStart(5)}  ${String(at).padStart(5)}  ${String(liveAtSigint).padStart(14)}  ${String(code).padStart(4)}  ${ms.toFixed(0).padStart(7)}  ${String(notTerminated).padStart(14)}  ${String(ledgerOpen).padStart(11)}`,
    );
    rmSync(dir, { recursive: true, force: true });
  }
  exitMs.sort((a, b) => a - b);
  console.log(
    `total: ${leaked} instances not terminated, ${open} ledger entries open; exit after SIGINT median ${exitMs[Math.floor(exitMs.length / 2)]!.toFixed(0)} ms, max ${exitMs.at(-1)!.toFixed(0)} ms`,
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

/**
 * The test "remote machines" and the EC2 emulator that `scripts/services up hosts` and
 * `scripts/services up moto` start (see scripts/services.d/hosts.sh for the details).
 *
 * Each host hN is a network namespace `benchyard-hN` reached at 10.250.N.2 over a veth pair
 * (host side `byhN`), running sshd (root, public key only) and its own dockerd, reachable
 * through ssh at `dockerSocket` (e.g. with ssh2's openssh_forwardOutStreamLocal). Its engine
 * starts with no images: tests ship what they need.
 *
 * Like the other services, tests fail (never skip) when these are missing: CI must exercise
 * them. `requireSshHosts()` / `requireMoto()` fail fast with the command that fixes it.
 */
import Docker from 'dockerode';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { awsTarget } from '../../src/config/targets/aws.js';
import type { TargetSpec } from '../../src/core/index.js';

const run = promisify(execFile);

export interface DevSshHost {
  /** 'h1', 'h2' */
  name: string;
  /** sshd's address inside the host's namespace, e.g. 10.250.1.2 */
  address: string;
  port: number;
  user: string;
  /** private key (ed25519, no passphrase) authorized for `user` on every host */
  keyFile: string;
  /** one `address key` line per host, for strict host key checking */
  knownHostsFile: string;
  /** the host's own Docker engine, a unix socket path as seen on the host (forward to it over ssh) */
  dockerSocket: string;
  /** network namespace name, e.g. benchyard-h1 */
  netns: string;
  /** host side of the veth pair: `ip link set <hostVeth> down` cuts the host off */
  hostVeth: string;
}

/** scripts/services' state directory (BENCHYARD_DEV_STATE, default /var/lib/benchyard-dev). */
export const DEV_STATE_DIR = process.env.BENCHYARD_DEV_STATE ?? '/var/lib/benchyard-dev';
const HOSTS_STATE = path.join(DEV_STATE_DIR, 'hosts');

function devHost(n: number): DevSshHost {
  return {
    name: `h${n}`,
    address: `10.250.${n}.2`,
    port: 22,
    user: 'root',
    keyFile: path.join(HOSTS_STATE, 'id_ed25519'),
    knownHostsFile: path.join(HOSTS_STATE, 'known_hosts'),
    dockerSocket: `/run/benchyard-hosts/h${n}/docker.sock`,
    netns: `benchyard-h${n}`,
    hostVeth: `byh${n}`,
  };
}

export const DEV_SSH_HOSTS: readonly DevSshHost[] = Object.freeze([devHost(1), devHost(2)]);

/** How benchyard's SSH connector reaches a test host and its own Docker engine. */
export function devEndpoint(h: DevSshHost) {
  return {
    host: h.address,
    port: h.port,
    user: h.user,
    keyFile: h.keyFile,
    knownHostsFile: h.knownHostsFile,
    verifyHostKey: true,
    dockerSocket: h.dockerSocket,
    readyTimeoutMs: 20_000,
  };
}

/**
 * An EC2 target `gpu` (g4dn.xlarge in us-east-1) on the EC2 API at `endpoint` (moto, or a
 * proxy in front of it), its instances reached over SSH as the test host `h` (give the
 * provider a `resolveAddress` answering h's address); `options` adds to the target's or replaces them.
 */
export function awsTestTarget(
  h: DevSshHost,
  endpoint: string,
  options: Record<string, unknown> = {},
): TargetSpec {
  return {
    name: 'gpu',
    provider: 'aws',
    options: awsTarget.parse({
      regions: ['us-east-1'],
      instanceType: 'g4dn.xlarge',
      ami: 'ami-12c6146b',
      endpoint,
      ssh: {
        user: h.user,
        keyFile: h.keyFile,
        knownHosts: h.knownHostsFile,
        dockerSocket: h.dockerSocket,
        connectTimeout: '20s',
      },
      ...options,
    }),
  };
}

/**
 * moto's endpoint (EC2 and every other AWS API). Give the SDK explicit dummy credentials
 * (any key id/secret: moto checks no signature) and a region; without credentials the SDK's
 * default chain would go looking for instance metadata.
 */
export const MOTO_ENDPOINT = `http://127.0.0.1:${process.env.BENCHYARD_MOTO_PORT ?? '5055'}`;

async function setLink(host: DevSshHost, state: 'up' | 'down'): Promise<void> {
  await run('ip', ['link', 'set', host.hostVeth, state], { timeout: 10_000 });
}

/**
 * Cuts the host off the network (its host-side veth goes down): the host's sshd and dockerd
 * keep running, open connections and new ones hang (nothing answers, nothing is refused).
 * Needs root, as the tests run.
 */
export async function cutNetwork(host: DevSshHost): Promise<void> {
  await setLink(host, 'down');
}

/** Undoes cutNetwork; open TCP connections that have not timed out carry on. */
export async function restoreNetwork(host: DevSshHost): Promise<void> {
  await setLink(host, 'up');
}

function tcpAnswers(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Fails with a clear message unless both test hosts are up: key files present, the link up
 * and sshd accepting connections. Call it in a beforeAll of tests that use DEV_SSH_HOSTS.
 */
export async function requireSshHosts(): Promise<readonly DevSshHost[]> {
  const fix = 'run `scripts/services up hosts` (as root)';
  for (const file of [DEV_SSH_HOSTS[0]!.keyFile, DEV_SSH_HOSTS[0]!.knownHostsFile]) {
    if (!existsSync(file)) throw new Error(`test hosts are not set up: ${file} is missing; ${fix}`);
  }
  for (const host of DEV_SSH_HOSTS) {
    if (!(await tcpAnswers(host.address, host.port, 3000))) {
      throw new Error(
        `test host ${host.name}: nothing answers on ${host.address}:${host.port} ` +
          `(network cut left behind? \`ip link set ${host.hostVeth} up\`); ${fix}`,
      );
    }
  }
  return DEV_SSH_HOSTS;
}

/** Fails with a clear message unless moto answers an EC2 call on MOTO_ENDPOINT. */
export async function requireMoto(): Promise<string> {
  const fix = 'run `scripts/services up moto` (as root)';
  let body = '';
  try {
    const res = await fetch(`${MOTO_ENDPOINT}/`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        // moto picks the service from the SigV4 credential scope; it checks no signature.
        authorization:
          'AWS4-HMAC-SHA256 Credential=testing/20000101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=0',
      },
      body: 'Action=DescribeRegions&Version=2016-11-15',
      signal: AbortSignal.timeout(5000),
    });
    body = await res.text();
  } catch (err) {
    throw new Error(`moto does not answer on ${MOTO_ENDPOINT} (${(err as Error).message}); ${fix}`);
  }
  if (!body.includes('<DescribeRegionsResponse')) {
    throw new Error(`${MOTO_ENDPOINT} answers, but not as moto's EC2 API; ${fix}`);
  }
  return MOTO_ENDPOINT;
}

/** A test host's Docker engine, straight through its socket (tests run on the same machine). */
export function hostEngine(host: DevSshHost): Docker {
  return new Docker({ socketPath: host.dockerSocket });
}

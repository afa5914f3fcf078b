/**
 * Bare-metal hosts over SSH against real sshd + dockerd hosts (network namespaces made by
 * `scripts/services up hosts`): leases held on the hosts (two controllers with different
 * state folders agree), host key checking, one persistent connection per machine, and
 * cleanup on release by machine and session.
 */
import { dockerOfMachine } from '../helpers/docker-runner.js';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshHostsProvider, Ssh2Connector } from '../../providers/ssh/index.js';
import { sshHostsTarget } from '../../src/config/targets/ssh-hosts.js';
import {
  LABELS,
  MachineBusyError,
  ownerLabels,
  silentLogger,
  systemClock,
  type ProviderContext,
  type TargetSpec,
} from '../../src/core/index.js';
import { SqliteLedger } from '../../src/ledger/index.js';
import { EngineLeases } from '../../src/lease/index.js';
import { BENCH_IMAGE, docker } from '../helpers/services.js';
import { DEV_STATE_DIR, requireSshHosts, type DevSshHost } from '../helpers/remote-hosts.js';
import { shipImage } from '../../src/engine/index.js';

let hosts: readonly DevSshHost[];
let state: string;

beforeAll(async () => {
  hosts = await requireSshHosts();
  state = mkdtempSync(path.join(os.tmpdir(), 'benchyard-ssh-'));
});
afterAll(() => rmSync(state, { recursive: true, force: true }));

/** A controller: its own session and, unless told, its own state folder. */
function provider(
  session: string,
  stateDir = mkdtempSync(path.join(state, 'state-')),
): { ledger: SqliteLedger; provider: SshHostsProvider } {
  const ledger = new SqliteLedger(stateDir, session);
  const ctx: ProviderContext = {
    ledger,
    leases: new EngineLeases({ session, owner: `${session}@test`, logger: silentLogger }),
    leasePollMs: 200,
    connector: new Ssh2Connector({ logger: silentLogger }),
    maxLifetimeMs: 3_600_000,
    clock: systemClock,
    logger: silentLogger,
  };
  return { ledger, provider: new SshHostsProvider(ctx) };
}

function target(ssh: Record<string, unknown> = {}): TargetSpec {
  const h = hosts[0]!;
  return {
    name: 'lab',
    provider: 'ssh',
    options: sshHostsTarget.parse({
      hosts: hosts.map((x) => ({ host: x.address, dockerSocket: x.dockerSocket })),
      ssh: { user: h.user, keyFile: h.keyFile, knownHosts: h.knownHostsFile, connectTimeout: '5s', ...ssh },
    }),
  };
}

const accepted = (h: DevSshHost) =>
  readFileSync(path.join(DEV_STATE_DIR, 'hosts', h.name, 'sshd.log'), 'utf8').split('Accepted publickey')
    .length - 1;

describe('ssh hosts provider', () => {
  it(
    'leases each host once across controllers with different state folders, and returns the leases on release',
    { timeout: 60_000 },
    async () => {
      const a = provider('s-ssh-a');
      const b = provider('s-ssh-b');
      const spec = target();
      expect(a.provider.capacity(spec)).toEqual({ min: 2, max: 2 });
      const m1 = await a.provider.acquire(spec, AbortSignal.timeout(20_000));
      const m2 = await a.provider.acquire(spec, AbortSignal.timeout(20_000));
      expect(new Set([m1.hostname, m2.hostname])).toEqual(new Set(hosts.map((h) => h.address)));
      // Another controller (its own state folder) finds every host held, read from the hosts.
      const err = await b.provider
        .acquire(spec, AbortSignal.timeout(20_000), { wait: false })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MachineBusyError);
      const busy = (err as MachineBusyError).busy;
      expect(busy.map((x) => x.holder.session)).toEqual(['s-ssh-a', 's-ssh-a']);
      expect((err as Error).message).toMatch(/is held by session s-ssh-a of owner s-ssh-a@test/);
      expect(a.ledger.open({ session: 's-ssh-a' }).map((e) => e.kind)).toEqual(['lease', 'lease']);
      // Waiting, it gets the first host given back.
      const waited = b.provider.acquire(spec, AbortSignal.timeout(20_000));
      await a.provider.release(m1, AbortSignal.timeout(20_000));
      await a.provider.release(m1, AbortSignal.timeout(20_000)); // idempotent
      const m3 = await waited;
      expect(m3.hostname).toBe(m1.hostname);
      await Promise.all([
        a.provider.release(m2, AbortSignal.timeout(20_000)),
        b.provider.release(m3, AbortSignal.timeout(20_000)),
      ]);
      expect(a.ledger.open()).toEqual([]);
    },
  );

  it('sends every Docker request over one SSH connection', { timeout: 60_000 }, async () => {
    const { provider: p } = provider('s-ssh-conn');
    const machine = await p.acquire(target(), AbortSignal.timeout(20_000));
    const host = hosts.find((h) => h.address === machine.hostname)!;
    const before = accepted(host);
    for (let i = 0; i < 50; i++) await dockerOfMachine(machine).listContainers();
    await Promise.all(Array.from({ length: 20 }, () => dockerOfMachine(machine).version()));
    expect(accepted(host)).toBe(before);
    await p.release(machine, AbortSignal.timeout(20_000));
  });

  it(
    'refuses a host whose key is not in known_hosts, unless the target opts out',
    { timeout: 60_000 },
    async () => {
      const wrong = path.join(state, 'known_hosts');
      writeFileSync(
        wrong,
        hosts
          .map(
            (h) =>
              `${h.address} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDVwdWJsaWMga2V5IG9mIHNvbWVvbmUgZWxzZQ==`,
          )
          .join('\n'),
      );
      const { provider: p } = provider('s-ssh-hostkey');
      const err = (await p
        .acquire(target({ knownHosts: wrong }), AbortSignal.timeout(20_000))
        .catch((e: unknown) => e)) as Error;
      expect(err.message).toMatch(/known_hosts/);
      const machine = await p.acquire(
        target({ knownHosts: wrong, hostKeyCheck: 'off' }),
        AbortSignal.timeout(20_000),
      );
      expect(await dockerOfMachine(machine).ping()).toBeTruthy();
      await p.release(machine, AbortSignal.timeout(20_000));
    },
  );

  it(
    'removes the containers of its session for this machine on release, and only those',
    { timeout: 120_000 },
    async () => {
      const { provider: p, ledger } = provider('s-ssh-clean');
      const machine = await p.acquire(target(), AbortSignal.timeout(20_000));
      await shipImage(docker(), dockerOfMachine(machine), BENCH_IMAGE, machine.id);
      const make = (session: string, machineId = machine.id) =>
        dockerOfMachine(machine).createContainer({
          Image: BENCH_IMAGE,
          Cmd: ['sleep', '300'],
          Labels: ownerLabels(session, machineId),
        });
      const mine = await make(ledger.session);
      const theirs = await make('s-someone-else');
      // The same session's container for another machine on this engine (a shared engine) stays.
      const sibling = await make(ledger.session, 'local:other-name-for-this-engine');
      await mine.start();
      await p.release(machine, AbortSignal.timeout(30_000));
      const again = await p.acquire(target(), AbortSignal.timeout(20_000));
      const left = await dockerOfMachine(again).listContainers({
        all: true,
        filters: { label: [`${LABELS.managed}=true`] },
      });
      expect(left.map((c) => c.Id)).not.toContain(mine.id);
      expect(left.map((c) => c.Id)).toContain(theirs.id);
      expect(left.map((c) => c.Id)).toContain(sibling.id);
      await dockerOfMachine(again).getContainer(theirs.id).remove({ force: true });
      await dockerOfMachine(again).getContainer(sibling.id).remove({ force: true });
      await p.release(again, AbortSignal.timeout(20_000));
    },
  );
});

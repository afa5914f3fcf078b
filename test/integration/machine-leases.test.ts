/**
 * Leases held on a machine's own Docker engine (src/lease), against the real engine of this
 * machine: one holder at a time whatever the controller, holders read from the machine,
 * expired leases taken over (and what their holder left removed), a lost lease noticed by
 * its holder, clocks that are off, and two names for one engine.
 */
import Docker from 'dockerode';
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import {
  InfrastructureError,
  InputError,
  LABELS,
  MachineBusyError,
  ownerLabels,
  type Logger,
  type MachineLease,
} from '../../src/core/index.js';
import {
  EngineLeases,
  LEASE_CONTAINER,
  LEASE_IMAGE,
  LEASE_LABELS,
  ensureLeaseImage,
} from '../../src/lease/index.js';
import { until } from '../helpers/cli.js';
import { docker as localDocker } from '../helpers/services.js';

const warnings: string[] = [];
const logger: Logger = {
  debug() {},
  info() {},
  warn: (m) => warnings.push(m),
  error: (m) => warnings.push(m),
};
const leases = (session: string, o: { ttlMs?: number; skewMs?: number } = {}) =>
  new EngineLeases({
    session,
    owner: `${session}@test`,
    logger,
    ttlMs: o.ttlMs ?? 60_000,
    now: () => Date.now() + (o.skewMs ?? 0),
  });
const req = (machine: string, shareEngine = false) => ({
  machine,
  target: machine,
  shareEngine,
  signal: AbortSignal.timeout(20_000),
});
const held: MachineLease[] = [];
async function take(l: EngineLeases, machine: string, shareEngine = false, docker = localDocker()) {
  const lease = await l.take(docker, req(machine, shareEngine));
  held.push(lease);
  return lease;
}

/** Waits until `check` holds (a condition, never a fixed sleep). */
const holds = (check: () => Promise<boolean> | boolean, ms = 20_000) =>
  until(async () => ((await check()) ? true : undefined), ms, 'the condition', 50);

afterEach(async () => {
  await Promise.all(held.splice(0).map((l) => l.release()));
  await localDocker()
    .getContainer(LEASE_CONTAINER)
    .remove({ force: true })
    .catch(() => undefined);
  warnings.length = 0;
});

describe('machine leases on the Docker engine', () => {
  it('one holder at a time: another controller reads the holder, is refused, and takes it once returned', async () => {
    const a = leases('s-lease-a');
    const b = leases('s-lease-b');
    const lease = await take(a, 'local:box');
    expect(lease.engineId).toMatch(/\S+/);
    const seen = await b.read(localDocker(), AbortSignal.timeout(10_000));
    expect(seen).toMatchObject({
      session: 's-lease-a',
      owner: 's-lease-a@test',
      pid: process.pid,
      expired: false,
    });
    const err = await b.take(localDocker(), req('local:box')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MachineBusyError);
    expect((err as MachineBusyError).waiting).toMatch(
      /^waiting for local:box, held by session s-lease-a of owner s-lease-a@test \(pid \d+ on .+\) since \d{4}-/,
    );
    await lease.release();
    await lease.release(); // idempotent
    expect(await b.read(localDocker(), AbortSignal.timeout(10_000))).toBeUndefined();
    const second = await take(b, 'local:box');
    expect(second.holder.session).toBe('s-lease-b');
  });

  it('controllers that start at the same moment: exactly one takes the machine, the others are told who holds it', async () => {
    for (let round = 0; round < 5; round++) {
      const tries = await Promise.allSettled(
        Array.from({ length: 6 }, (_, i) =>
          leases(`s-race-${round}-${i}`).take(localDocker(), req('local:box')),
        ),
      );
      const won = tries.filter((t): t is PromiseFulfilledResult<MachineLease> => t.status === 'fulfilled');
      const lost = tries.filter((t): t is PromiseRejectedResult => t.status === 'rejected');
      expect(won).toHaveLength(1);
      for (const l of lost) expect(l.reason).toBeInstanceOf(MachineBusyError);
      await won[0]!.value.release();
    }
  });

  it('renews while held: the expiry moves on, so a live holder is never taken over', async () => {
    const a = leases('s-lease-renew', { ttlMs: 1_200 });
    const lease = await take(a, 'local:box');
    const first = Date.parse(lease.holder.expiresAt);
    await holds(() => Date.parse(lease.holder.expiresAt) > first + 600);
    // Well past the first expiry, the lease still holds.
    await holds(() => Date.now() > first + 600);
    const err = await leases('s-lease-other')
      .take(localDocker(), req('local:box'))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MachineBusyError);
    expect(lease.lost.aborted).toBe(false);
  });

  it('takes over the lease of a SIGKILLed controller once it expired, with a warning, and removes what it left', async () => {
    // The controller itself (not a wrapper) is killed: node with tsx's loader.
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'test/helpers/lease-holder.ts', 's-lease-dead', '1500'],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const d = localDocker();
    let left: Docker.Container;
    try {
      await holds(() => out.includes('held'), 30_000);
      left = await d.createContainer({
        Image: LEASE_IMAGE,
        Cmd: ['/nothing'],
        Labels: ownerLabels('s-lease-dead', 'local:box'),
      });
    } finally {
      // Never left behind renewing a lease, whatever happened above.
      child.kill('SIGKILL');
    }
    const b = leases('s-lease-new');
    // Refused while the dead holder's lease has not expired yet…
    await expect(b.take(localDocker(), req('local:box'))).rejects.toBeInstanceOf(MachineBusyError);
    // …and taken over once it has.
    await holds(async () => {
      try {
        await take(b, 'local:box');
        return true;
      } catch (err) {
        if (err instanceof MachineBusyError) return false;
        throw err;
      }
    });
    expect(warnings.join('\n')).toMatch(/taking over local:box from session s-lease-dead .* expired at/);
    await expect(d.getContainer(left.id).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  it('a holder whose lease was removed from the machine notices it lost the machine', async () => {
    const a = leases('s-lease-lost', { ttlMs: 1_000 });
    const lease = await take(a, 'local:box');
    const { Id } = await localDocker().getContainer(LEASE_CONTAINER).inspect();
    await localDocker().getContainer(Id).remove({ force: true });
    await holds(() => lease.lost.aborted);
    expect(String(lease.lost.reason)).toMatch(/machine local:box lost: its lease was removed/);
  });

  it('agrees with controllers whose clocks are an hour off: times are the machine clock', async () => {
    const behind = leases('s-lease-behind', { skewMs: -3_600_000, ttlMs: 30_000 });
    const ahead = leases('s-lease-ahead', { skewMs: +3_600_000 });
    const lease = await take(behind, 'local:box');
    const engineNow = Date.parse(((await localDocker().info()) as { SystemTime: string }).SystemTime);
    const expires = Date.parse(lease.holder.expiresAt);
    expect(expires - engineNow).toBeGreaterThan(25_000);
    expect(expires - engineNow).toBeLessThan(31_000);
    const seen = await ahead.read(localDocker(), AbortSignal.timeout(10_000));
    expect(seen?.expired).toBe(false);
    await expect(ahead.take(localDocker(), req('local:box'))).rejects.toBeInstanceOf(MachineBusyError);
  });

  it('two names for one engine: refused unless both share it, then one lease held until the last returns it', async () => {
    const a = leases('s-lease-share');
    await take(a, 'local:here');
    // Another client to the same engine, as an ssh host entry that lands on this machine would be.
    const err = await a.take(new Docker(), req('ssh:root@localhost:22')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(
      /'ssh:root@localhost:22' .* and 'local:here' .* reach the same Docker engine/,
    );
    await Promise.all(held.splice(0).map((l) => l.release()));

    const first = await a.take(localDocker(), req('local:here', true));
    const second = await a.take(new Docker(), req('ssh:root@localhost:22', true));
    expect(second.engineId).toBe(first.engineId);
    await first.release();
    const { Config } = await localDocker().getContainer(LEASE_CONTAINER).inspect();
    expect(Config.Labels?.[LABELS.session]).toBe('s-lease-share');
    await second.release();
    await expect(localDocker().getContainer(LEASE_CONTAINER).inspect()).rejects.toMatchObject({
      statusCode: 404,
    });
  });

  it('a container named benchyard-lease that is not a benchyard lease is never taken over or removed', async () => {
    await ensureLeaseImage(localDocker(), AbortSignal.timeout(10_000));
    const foreign = await localDocker().createContainer({
      name: LEASE_CONTAINER,
      Image: LEASE_IMAGE,
      Cmd: ['/theirs'],
      Labels: { owner: 'someone-else' },
    });
    const err = await leases('s-lease-foreign', { ttlMs: 1_000 })
      .take(localDocker(), req('local:box'))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InfrastructureError);
    expect((err as Error).message).toMatch(/not a benchyard lease; benchyard does not touch it/);
    expect((await foreign.inspect()).Config.Labels).toEqual({ owner: 'someone-else' });
  });

  it('the lease image is empty and imported on the engine itself', async () => {
    await ensureLeaseImage(localDocker(), AbortSignal.timeout(10_000));
    const img = await localDocker().getImage(LEASE_IMAGE).inspect();
    expect(img.Size).toBe(0);
    const lease = await take(leases('s-lease-img'), 'local:box');
    const c = await localDocker().getContainer(LEASE_CONTAINER).inspect();
    expect(c.State.Status).toBe('created');
    expect(c.Config.Labels?.[LEASE_LABELS.lease]).toBe('1');
    expect(c.HostConfig.NetworkMode).toBe('none');
    await lease.release();
  });
});

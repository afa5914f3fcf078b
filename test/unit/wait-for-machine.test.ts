/**
 * Waiting for a machine another controller holds (`waitForMachine`, src/core/lease.ts), with
 * a manual clock: it says once per holder whom it waits for, polls at its interval, throws
 * at once without `wait`, and never swallows another error.
 */
import { describe, expect, it } from 'vitest';
import {
  InfrastructureError,
  MachineBusyError,
  silentLogger,
  waitForMachine,
  type LeaseHolder,
} from '../../src/core/index.js';
import { ManualClock } from '../helpers/manual-clock.js';

const holder = (session: string): LeaseHolder => ({
  session,
  owner: 'ann@laptop',
  host: 'laptop',
  pid: 42,
  since: '2026-12-04T10:00:00.000Z',
  expiresAt: '2026-12-04T10:01:00.000Z',
});
const busy = (session: string) =>
  new MachineBusyError([{ machine: 'ssh:root@lab-1:22', holder: holder(session) }]);

/** Lets pending promise callbacks run. */
const settle = () => new Promise((r) => setImmediate(r));

describe('waitForMachine', () => {
  it('waits while the machine is held, saying once per holder whom it waits for, and polls at its interval', async () => {
    const clock = new ManualClock();
    const answers: (Error | string)[] = [busy('s-1'), busy('s-1'), busy('s-2'), 'machine'];
    let calls = 0;
    const said: string[] = [];
    const got = waitForMachine(
      async () => {
        calls++;
        const a = answers.shift()!;
        if (a instanceof Error) throw a;
        return a;
      },
      {
        wait: true,
        pollMs: 2_000,
        clock,
        logger: silentLogger,
        signal: new AbortController().signal,
        progress: (l) => said.push(l),
      },
    );
    await settle();
    expect(calls).toBe(1);
    clock.advance(1_999);
    await settle();
    expect(calls).toBe(1);
    for (let i = 0; i < 3; i++) {
      clock.advance(2_000);
      await settle();
    }
    expect(await got).toBe('machine');
    expect(calls).toBe(4);
    expect(said).toEqual([
      'waiting for ssh:root@lab-1:22, held by session s-1 of owner ann@laptop (pid 42 on laptop) since 2026-12-04T10:00:00.000Z',
      'waiting for ssh:root@lab-1:22, held by session s-2 of owner ann@laptop (pid 42 on laptop) since 2026-12-04T10:00:00.000Z',
    ]);
  });

  it('without wait, the first busy answer is thrown, naming the holder', async () => {
    const err = await waitForMachine(() => Promise.reject(busy('s-9')), {
      wait: false,
      pollMs: 1_000,
      clock: new ManualClock(),
      logger: silentLogger,
      signal: new AbortController().signal,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MachineBusyError);
    expect((err as Error).message).toBe(
      'ssh:root@lab-1:22 is held by session s-9 of owner ann@laptop (pid 42 on laptop) since 2026-12-04T10:00:00.000Z',
    );
  });

  it('other failures are not waited on, and cancelling stops the wait', async () => {
    const o = { wait: true, pollMs: 1_000, clock: new ManualClock(), logger: silentLogger };
    const broken = new InfrastructureError('unreachable');
    await expect(
      waitForMachine(() => Promise.reject(broken), { ...o, signal: new AbortController().signal }),
    ).rejects.toBe(broken);
    const stop = new AbortController();
    const waiting = waitForMachine(() => Promise.reject(busy('s-1')), { ...o, signal: stop.signal });
    await settle();
    stop.abort(new Error('cancelled'));
    await expect(waiting).rejects.toThrow('cancelled');
  });
});

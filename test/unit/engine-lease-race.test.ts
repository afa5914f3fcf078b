/**
 * The moment two controllers create the lease at once: the engine has reserved the name (a
 * second create answers 409) before the first container can be inspected (404). Seen under
 * load in CI; too narrow a window to hit on demand with the real engine, so a fake engine
 * answers exactly that sequence.
 */
import type Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import { MachineBusyError, silentLogger } from '../../src/core/index.js';
import { EngineLeases, LEASE_LABELS } from '../../src/lease/index.js';

/** An engine whose lease container exists (409) but cannot be inspected for `hiddenMs` (being created). */
function racingEngine(hiddenMs: number): Docker {
  const visibleAt = Date.now() + hiddenMs;
  const notFound = () => Object.assign(new Error('no such container'), { statusCode: 404 });
  const holder = {
    Id: 'c-other',
    Created: new Date().toISOString(),
    Config: {
      Labels: {
        [LEASE_LABELS.lease]: '1',
        [LEASE_LABELS.token]: 't',
        [LEASE_LABELS.owner]: 'bob@ci',
        [LEASE_LABELS.since]: new Date().toISOString(),
        [LEASE_LABELS.expiresAt]: new Date(Date.now() + 60_000).toISOString(),
        'io.benchyard.session': 's-other',
        'io.benchyard.controller-host': 'ci',
        'io.benchyard.controller-pid': '7',
      },
    },
  };
  return {
    info: async () => ({ ID: 'ENGINE', SystemTime: new Date().toISOString() }),
    getImage: () => ({ inspect: async () => ({}) }),
    createContainer: async () => {
      throw Object.assign(new Error('Conflict. The container name "/benchyard-lease" is already in use'), {
        statusCode: 409,
      });
    },
    getContainer: () => ({
      inspect: async () => {
        if (Date.now() < visibleAt) throw notFound();
        return holder;
      },
      getArchive: async () => {
        throw notFound();
      },
    }),
  } as unknown as Docker;
}

describe('taking a lease while another controller is creating it', () => {
  it('waits for the container to appear and names its holder, instead of giving up', async () => {
    const leases = new EngineLeases({ session: 's-me', owner: 'me@laptop', logger: silentLogger });
    const err = await leases
      .take(racingEngine(300), {
        machine: 'local:box',
        target: 'box',
        shareEngine: false,
        signal: AbortSignal.timeout(10_000),
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MachineBusyError);
    expect((err as MachineBusyError).busy[0]!.holder.session).toBe('s-other');
  });
});

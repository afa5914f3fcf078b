/**
 * Who holds each member, read from the machine's own lease: the truth across controllers.
 * A member that does not answer in time keeps this state's record, with why.
 */
import { errorMessage, type LeaseHolder, type PoolMember } from '../core/index.js';
import type { PoolListRow } from './listing.js';

/** How long one member may take to say who holds it. */
const ASK_TIMEOUT_MS = 15_000;

/** Reads the lease on the member's machine (the ssh provider's `holder`); undefined: free. */
export type ReadHolder = (
  member: Pick<PoolMember, 'host' | 'port' | 'user' | 'dockerSocket'>,
  signal: AbortSignal,
) => Promise<(LeaseHolder & { expired: boolean }) | undefined>;

export async function readHolders(
  members: readonly PoolListRow[],
  read: ReadHolder,
  signal: AbortSignal,
): Promise<PoolListRow[]> {
  return Promise.all(
    members.map(async (m): Promise<PoolListRow> => {
      if (m.state === 'removed') return m;
      const within = AbortSignal.any([signal, AbortSignal.timeout(ASK_TIMEOUT_MS)]);
      try {
        const h = await read(
          {
            host: m.host,
            ...(m.port !== undefined ? { port: m.port } : {}),
            ...(m.user !== undefined ? { user: m.user } : {}),
            ...(m.dockerSocket !== undefined ? { dockerSocket: m.dockerSocket } : {}),
          },
          within,
        );
        const { heldBy: _record, ...rest } = m;
        if (!h) return rest;
        return {
          ...rest,
          heldBy: {
            session: h.session,
            owner: h.owner,
            since: h.since,
            ...(h.machine ? { target: h.machine } : {}),
            source: 'machine',
            controller: `pid ${h.pid} on ${h.host}`,
            expiresAt: h.expiresAt,
            expired: h.expired,
          },
        };
      } catch (err) {
        return { ...m, unreachable: errorMessage(err) };
      }
    }),
  );
}

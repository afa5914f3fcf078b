/** Changing a pool's members from a shell: each call opens the state's pools, changes them, closes. */
import type { PoolMember } from '../core/index.js';
import { SqlitePoolStore, type NewPoolMember } from './pool-store.js';

export function withPools<T>(state: string, use: (pools: SqlitePoolStore) => T): T {
  const pools = new SqlitePoolStore(state);
  try {
    return use(pools);
  } finally {
    pools.dispose();
  }
}

/**
 * Adds (or re-activates) each machine in order, telling `added` of each as it is stored: a
 * host refused on the way (an InputError) leaves the ones before it added.
 */
export function addMembers(
  state: string,
  pool: string,
  hosts: readonly string[],
  login: Omit<NewPoolMember, 'host'>,
  added: (m: PoolMember) => void,
): void {
  withPools(state, (pools) => {
    for (const host of hosts) added(pools.add(pool, { host, ...login }));
  });
}

export function removeMember(
  state: string,
  pool: string,
  host: string,
  opts: { now: boolean; port?: number },
): PoolMember {
  return withPools(state, (pools) => pools.remove(pool, host, opts));
}

/** Every member stops taking work; answers those now draining. */
export function drainPool(state: string, pool: string): PoolMember[] {
  return withPools(state, (pools) => pools.drain(pool).filter((m) => m.state === 'draining'));
}

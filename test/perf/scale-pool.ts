/**
 * What a membership tick costs with a real pool, which the simulation's FakeProvider
 * (a Map lookup) does not show: every second the scheduler asks the provider whether each
 * of its machines left its pool (`membership.ts` → `Fleet.checkWithdrawn` →
 * `provider.withdrawn`), and the ssh provider answers each machine by reading the whole
 * pool from the state file (`SshHostsProvider.withdrawn`: `pools.members(pool).find(…)`).
 * This runs that same call pattern against the real `SqlitePoolStore`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SqlitePoolStore } from '../../src/pool/index.js';

export interface PoolTick {
  members: number;
  /** CPU of one tick (every member asked once), ms. */
  cpuMs: number;
}

export function poolTick(members: number): PoolTick {
  const state = mkdtempSync(path.join(os.tmpdir(), 'by-scale-pool-'));
  try {
    const pools = new SqlitePoolStore(state);
    for (let i = 0; i < members; i++) pools.add('lab', { host: `10.0.${i >> 8}.${i & 255}` });
    const held = pools.members('lab');
    const ticks = Math.max(2, Math.ceil(100_000 / members ** 2));
    const cpu0 = process.cpuUsage();
    for (let t = 0; t < ticks; t++)
      for (const m of held) pools.members('lab').find((x) => x.host === m.host && x.port === m.port);
    const cpu = process.cpuUsage(cpu0);
    return { members, cpuMs: (cpu.user + cpu.system) / 1000 / ticks };
  } finally {
    rmSync(state, { recursive: true, force: true });
  }
}

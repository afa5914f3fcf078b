/**
 * A controller that takes this machine's lease and then only waits, to be SIGKILLed by a
 * test: `node --import tsx test/helpers/lease-holder.ts <session> <ttlMs>`. Prints `held <engineId>` once
 * it holds the lease.
 */
import Docker from 'dockerode';
import { silentLogger } from '../../src/core/index.js';
import { EngineLeases } from '../../src/lease/index.js';

const [session = 's-holder', ttl = '1000'] = process.argv.slice(2);
const leases = new EngineLeases({
  session,
  owner: `${session}@test`,
  logger: silentLogger,
  ttlMs: Number(ttl),
});
const lease = await leases.take(new Docker(), {
  machine: 'local:box',
  target: 'box',
  shareEngine: false,
  signal: AbortSignal.timeout(30_000),
});
process.stdout.write(`held ${lease.engineId}\n`);
setInterval(() => undefined, 60_000);

/**
 * Builds the providers a command needs, with the ledger, the pools, the SSH connector, the
 * price table and the run's machine lifetime. Only the composition root knows the concrete
 * provider classes.
 */
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  InputError,
  parseDuration,
  systemClock,
  type Logger,
  type MachineConnector,
  type Provider,
  type ProviderContext,
} from '../core/index.js';
import { EngineLeases } from '../lease/index.js';
import { loadPriceTable } from '../config/prices.js';
import { gpuFacts, inventory } from '../metrics/gpu/index.js';
import { SqliteLedger } from '../ledger/index.js';
import { SqlitePoolStore } from '../pool/index.js';
import { AwsProvider } from '../../providers/aws/index.js';
import { LocalProvider } from '../../providers/local/index.js';
import { SlurmProvider } from '../../providers/slurm/index.js';
import { KubernetesProvider } from '../../providers/kubernetes/index.js';
import { SoftlayerProvider } from '../../providers/softlayer/index.js';
import { Ssh2Connector, SshHostsProvider } from '../../providers/ssh/index.js';
import { PACKAGE_ROOT } from './paths.js';

export const PRICE_TABLE = path.join(PACKAGE_ROOT, 'providers/prices.yaml');

export interface ProviderSetOptions {
  state: string;
  logger: Logger;
  /** Cloud machines switch themselves off this long after they are created. */
  maxLifetimeMs: number;
  /** Price files whose entries replace the built-in table's. */
  prices?: readonly string[];
  /** Progress lines shown whatever the log level (waiting for a machine another controller holds). */
  progress?: (line: string) => void;
}

export interface ProviderSet {
  session: string;
  ledger: SqliteLedger;
  leases: EngineLeases;
  connector: MachineConnector;
  pools: SqlitePoolStore;
  providers: Map<string, Provider>;
  close(): void;
}

/** A session id for everything one controller process creates (BENCHYARD_SESSION overrides). */
export function newSession(): string {
  return process.env.BENCHYARD_SESSION ?? `s-${randomBytes(6).toString('hex')}`;
}

export async function providerSet(opts: ProviderSetOptions): Promise<ProviderSet> {
  const session = newSession();
  const ledger = new SqliteLedger(opts.state, session);
  const pools = new SqlitePoolStore(opts.state);
  const leases = new EngineLeases({
    session,
    owner: ledger.owner,
    logger: opts.logger,
    ttlMs: leaseTtlMs(),
  });
  const connector = new Ssh2Connector({ logger: opts.logger });
  const leasePollMs = Math.min(2_000, Math.max(100, leases.ttlMs / 4));
  const ctx: ProviderContext = {
    ledger,
    pools,
    leases,
    leasePollMs,
    ...(opts.progress ? { progress: opts.progress } : {}),
    connector,
    maxLifetimeMs: opts.maxLifetimeMs,
    // `ssh.agent: true` of a target: this controller's agent (core reads no environment).
    ...(process.env.SSH_AUTH_SOCK ? { sshAgentSocket: process.env.SSH_AUTH_SOCK } : {}),
    clock: systemClock,
    logger: opts.logger,
    price: await loadPriceTable([PRICE_TABLE, ...(opts.prices ?? [])]),
    ...testAddresses(),
  };
  const providers = new Map<string, Provider>([
    [
      'local',
      new LocalProvider({
        gpus: async () => gpuFacts(await inventory()),
        leases,
        leasePollMs,
        session,
        clock: systemClock,
        logger: opts.logger,
        ...(opts.progress ? { progress: opts.progress } : {}),
      }),
    ],
    ['ssh', new SshHostsProvider(ctx)],
    ['aws', new AwsProvider(ctx, pollOverride())],
    ['softlayer', new SoftlayerProvider(ctx)],
    ['slurm', new SlurmProvider(ctx)],
    ['kubernetes', new KubernetesProvider(ctx)],
  ]);
  return {
    session,
    ledger,
    leases,
    connector,
    pools,
    providers,
    close: () => {
      pools.dispose();
      ledger.dispose();
    },
  };
}

/**
 * Test hook: `BENCHYARD_TEST_ADDRESSES=10.250.1.2,10.250.2.2` makes every provisioned cloud
 * machine reachable at the next of these addresses instead of the IP the (emulated) cloud
 * reports, so a run against moto or the SoftLayer fake still goes through real SSH hosts.
 */
function testAddresses(): Pick<ProviderContext, 'resolveAddress'> {
  const list = process.env.BENCHYARD_TEST_ADDRESSES?.split(',')
    .map((a) => a.trim())
    .filter(Boolean);
  if (!list?.length) return {};
  let next = 0;
  return { resolveAddress: () => list[next++ % list.length]! };
}

/** Test hook: `BENCHYARD_TEST_POLL_MS` polls instance state faster than the default 5 s. */
function pollOverride(): { pollMs?: number } {
  const ms = Number(process.env.BENCHYARD_TEST_POLL_MS);
  return Number.isFinite(ms) && ms > 0 ? { pollMs: ms } : {};
}

/**
 * How long a machine's lease holds without renewal (`BENCHYARD_LEASE_TTL`, e.g. `60s`): a
 * controller that died is taken over this long after its last heartbeat. @default 60s
 */
function leaseTtlMs(): number {
  const raw = process.env.BENCHYARD_LEASE_TTL;
  if (raw === undefined || raw === '') return 60_000;
  const ms = parseDuration(raw);
  if (ms === undefined || ms < 1000)
    throw new InputError(`BENCHYARD_LEASE_TTL must be a duration of at least 1s, e.g. 60s (got '${raw}')`);
  return ms;
}

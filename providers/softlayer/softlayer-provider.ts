/**
 * IBM SoftLayer (classic infrastructure): hourly virtual guests and hourly bare metal.
 *
 * `acquire` writes the ledger entry before the create call and names the machine after it
 * (`by-<key>`), orders it in the first datacenter with capacity, tags it, polls until it is
 * provisioned and connects over SSH. Anything that fails after the order cancels the machine
 * before the error is rethrown; an order that provably never left this machine closes its
 * entry at once. `release` cancels and waits until SoftLayer confirms it; `discover` /
 * `destroy` do the same for what `gc` finds, and `absent` tells `gc --forget` whether an entry
 * left nothing behind. Nothing is cancelled before the machine proves to be the entry's
 * (identity.ts, teardown.ts).
 */
import { DockerEngine } from '../../src/engine/docker-engine.js';
import {
  ProvisionError,
  errorMessage,
  formatDuration,
  sshEndpoint,
  type Machine,
  type Provider,
  type ProviderContext,
  type ProvisionStep,
  type ResourceRef,
  machineCountOf,
  recordIntent,
  trackEntry,
  type MachineCount,
  type TargetSpec,
  type TrackedEntry,
} from '../../src/core/index.js';
import type { SoftlayerTargetOptions } from '../../src/config/targets/softlayer.js';
import type { SoftlayerClient } from './client.js';
import { ClientPool, type ClientPoolOptions } from './clients.js';
import { classifyCreateFailure, isDefiniteRefusal, SoftlayerTransportError } from './errors.js';
import { findByName, hardwareOrder } from './lookup.js';
import { KINDS, type MachineKind, type MachineStatus } from './machine-kinds.js';
import { orderTemplate, pollUntil, timings } from './order.js';
import { hostnameFor, tagString } from './tags.js';
import { discoverLeftovers, destroyLeftover, provablyGone, type LeftoverDeps } from './leftovers.js';
import { teardownEntry, type CancelTarget } from './teardown.js';

export interface SoftlayerProviderOptions extends ClientPoolOptions {
  /** Poll interval and time limit of `destroy`, which has no target options. */
  teardown?: { pollIntervalMs?: number; timeoutMs?: number };
}

/** What release needs of a machine this provider handed out. */
interface Tracked extends CancelTarget {
  releasing?: Promise<void>;
}

export class SoftlayerProvider implements Provider {
  readonly name = 'softlayer';
  readonly capabilities = { elastic: true, spot: false, selfTerminate: false };

  capacity(target: TargetSpec): MachineCount {
    return machineCountOf((target.options as SoftlayerTargetOptions).count);
  }
  private readonly machines = new Map<string, Tracked>();
  private readonly clients: ClientPool;
  private readonly leftovers: LeftoverDeps;

  constructor(
    private readonly ctx: ProviderContext,
    private readonly opts: SoftlayerProviderOptions = {},
  ) {
    this.clients = new ClientPool(opts, ctx);
    this.leftovers = { ctx, clients: this.clients, teardown: opts.teardown ?? {} };
  }

  async acquire(target: TargetSpec, signal: AbortSignal): Promise<Machine> {
    const options = target.options as SoftlayerTargetOptions;
    const client = await this.clients.get(await this.clients.endpoint(options.endpoint));
    const skipped: string[] = [];
    for (const datacenter of options.datacenters) {
      signal.throwIfAborted();
      try {
        return await this.acquireIn(target.name, options, datacenter, client, signal);
      } catch (err) {
        if (!(err instanceof ProvisionError) || err.failureClass !== 'CAPACITY' || signal.aborted) throw err;
        this.ctx.logger.warn(`softlayer: ${errorMessage(err)}; trying the next datacenter`, { datacenter });
        skipped.push(`${datacenter}: ${errorMessage(err)}`);
      }
    }
    throw new ProvisionError(
      `no SoftLayer datacenter had capacity for ${options.flavor ?? options.preset} (${skipped.join('; ')})`,
      'CAPACITY',
      { target: target.name, datacenters: options.datacenters },
    );
  }

  private async acquireIn(
    targetName: string,
    options: SoftlayerTargetOptions,
    datacenter: string,
    client: SoftlayerClient,
    signal: AbortSignal,
  ): Promise<Machine> {
    const { ledger, clock, logger } = this.ctx;
    const kind = KINDS[options.kind === 'hardware' ? 'hardware' : 'virtual-guest'];
    const instanceType = (options.flavor ?? options.preset)!;
    using entry = recordIntent(
      ledger,
      {
        provider: this.name,
        kind: kind.name,
        target: targetName,
        region: datacenter,
        details: {
          endpoint: client.endpoint,
          [options.kind === 'hardware' ? 'preset' : 'flavor']: instanceType,
        },
      },
      new Date(clock.now() + this.ctx.maxLifetimeMs),
    );
    const hostname = hostnameFor(entry.key);
    const t = timings(options);
    const orderedAt = clock.now();
    const provision: Partial<Record<ProvisionStep, number>> = { requested: orderedAt };
    const deadline = orderedAt + t.deadlineMs;
    // Bare metal not listed by its provisioning deadline never will be (teardown.ts, absent.ts).
    const listedBy = kind.name === 'hardware' ? { listedBy: deadline } : {};
    entry.note({
      details: {
        hostname,
        domain: options.domain,
        ...(kind.name === 'hardware' ? { listedBy: new Date(deadline).toISOString() } : {}),
      },
    });
    const tracked: Tracked = {
      key: entry.key,
      kind: kind.name,
      endpoint: client.endpoint,
      domain: options.domain,
      session: entry.session,
      ...listedBy,
      ...t,
    };
    const where = { datacenter, instanceType, endpoint: client.endpoint };

    logger.info(`softlayer: ordering ${instanceType} in ${datacenter} as ${hostname}`, { key: entry.key });
    const out = await entry.create(
      () => kind.order(client, orderTemplate(options, { hostname, datacenter }), signal),
      {
        created: (ordered) => {
          tracked.id = ordered.id;
          if (ordered.globalIdentifier) tracked.globalIdentifier = ordered.globalIdentifier;
          const resourceId = ordered.id ?? ordered.globalIdentifier;
          return {
            ...(resourceId !== undefined ? { resourceId: String(resourceId) } : {}),
            ...(ordered.globalIdentifier ? { details: { globalIdentifier: ordered.globalIdentifier } } : {}),
          };
        },
        notCreated: (err) => {
          if (isDefiniteRefusal(err)) return errorMessage(classifyCreateFailure(err, where));
          // No connection was ever made: nothing to cancel, nothing for gc to wait for.
          if (err instanceof SoftlayerTransportError && err.notDelivered)
            return {
              reason: `the order never reached SoftLayer: ${errorMessage(err)}`,
              details: { order: 'not-delivered' },
            };
          return undefined;
        },
      },
    );
    if (!out.created) {
      const failure = classifyCreateFailure(out.error, where);
      if (isDefiniteRefusal(out.error)) throw failure;
      // No answer: the order may have gone through. Cancel whatever carries our host name.
      if (out.outcome === 'unknown') await this.cleanUp(client, tracked, out.error);
      throw signal.aborted ? signal.reason : failure;
    }
    provision.created = clock.now();

    try {
      const poll = { intervalMs: t.pollIntervalMs, deadline, clock, signal };
      if (tracked.id === undefined) {
        const found = await pollUntil(() => this.locateOrder(client, tracked, signal), poll);
        if (found === 'gone')
          throw new ProvisionError(
            `${kind.name} order ${hostname} was withdrawn by SoftLayer`,
            'INFRA',
            where,
          );
        if (found === undefined) throw notReady(`was not listed in the account`, t.deadlineMs, where);
        tracked.id = found;
        entry.note({ resourceId: String(found) });
      }
      const id = tracked.id;
      await this.tag(client, kind, id, entry, signal);
      let last = 'ordered';
      const ready = await pollUntil(async () => {
        const s = await kind.status(client, id, signal);
        if (s === 'gone')
          throw new ProvisionError(`${kind.name} ${id} disappeared while provisioning`, 'INFRA', where);
        if (isReady(s)) return s;
        last = s.activeTransaction ?? (s.provisionDate ? 'waiting for an IP address' : 'not provisioned yet');
        logger.debug(`softlayer ${kind.name} ${id}: ${last}`);
        return undefined;
      }, poll);
      if (!ready) throw notReady(`was not ready (last: ${last})`, t.deadlineMs, where);
      provision.running = clock.now();

      const publicIp = ready.publicIp;
      const privateIp = ready.privateIp;
      const host =
        this.ctx.resolveAddress?.({ key: entry.key, publicIp, privateIp }) ?? publicIp ?? privateIp!;
      logger.info(`softlayer ${kind.name} ${id} is provisioned; connecting to ${host}`, { key: entry.key });
      const session = await this.ctx.connector.connect(
        sshEndpoint(host, options.ssh, { user: 'root', agentSocket: this.ctx.sshAgentSocket }),
        signal,
        { onSsh: () => (provision.ssh ??= clock.now()) },
      );
      provision.docker = clock.now();
      const machine: Machine = {
        id: `softlayer:${id}`,
        provider: this.name,
        instanceType,
        region: datacenter,
        hourlyPriceUsd: this.ctx.price?.({
          provider: this.name,
          instanceType,
          region: datacenter,
          spot: false,
        })?.usd,
        hostname,
        engine: new DockerEngine(session.docker, hostname),
        ssh: session,
        localCgroups: false,
        provision,
      };
      this.machines.set(machine.id, tracked);
      return machine;
    } catch (err) {
      await this.cleanUp(client, tracked, err);
      throw err;
    }
  }

  async release(machine: Machine, signal: AbortSignal): Promise<void> {
    const tracked = this.machines.get(machine.id);
    if (!tracked) return; // released already, or never ours
    tracked.releasing ??= (async () => {
      await machine.ssh?.close().catch((err: unknown) => {
        this.ctx.logger.warn(`softlayer: closing SSH to ${machine.hostname} failed: ${errorMessage(err)}`);
      });
      await this.teardown(await this.clients.get(tracked.endpoint), tracked, signal);
      this.machines.delete(machine.id);
    })().finally(() => {
      tracked.releasing = undefined;
    });
    return tracked.releasing;
  }

  discover(opts: { session?: string; hints: readonly ResourceRef[]; signal: AbortSignal }) {
    return discoverLeftovers(this.leftovers, opts);
  }

  destroy(ref: ResourceRef, signal: AbortSignal): Promise<void> {
    return destroyLeftover(this.leftovers, ref, signal);
  }

  absent(ref: ResourceRef, signal: AbortSignal): Promise<boolean> {
    return provablyGone(this.leftovers, ref, signal);
  }

  private async teardown(client: SoftlayerClient, t: Tracked, signal: AbortSignal) {
    return teardownEntry(client, t, { ...this.ctx, entry: trackEntry(this.ctx.ledger, t.key) }, signal);
  }

  /** The id of a bare metal order once processed (polled by its globalIdentifier). */
  private async locateOrder(client: SoftlayerClient, t: Tracked, signal: AbortSignal) {
    const want = {
      ledgerKey: t.key,
      ...(t.domain ? { domain: t.domain } : {}),
      ...(t.session ? { session: t.session } : {}),
    };
    if (t.globalIdentifier) return hardwareOrder(client, t.globalIdentifier, want, signal);
    return findByName(client, t.kind, want, signal);
  }

  /** After a failed acquire: cancel what was created (with its own time limit), log a failure once. */
  private async cleanUp(client: SoftlayerClient, t: Tracked, cause: unknown): Promise<void> {
    try {
      await this.teardown(client, t, AbortSignal.timeout(t.teardownMs));
    } catch (err) {
      this.ctx.logger.error(
        `softlayer: could not cancel ${hostnameFor(t.key)} after a failed acquire; gc will retry`,
        {
          key: t.key,
          error: errorMessage(err),
          cause: errorMessage(cause),
        },
      );
    }
  }

  private async tag(
    client: SoftlayerClient,
    kind: MachineKind,
    id: number,
    entry: Pick<TrackedEntry, 'key' | 'session' | 'owner' | 'expiresAt'>,
    signal: AbortSignal,
  ) {
    const key = entry.key;
    const tags = tagString({
      session: entry.session,
      owner: entry.owner,
      expiresAt: entry.expiresAt,
      ledgerKey: key,
    });
    try {
      await kind.setTags(client, id, tags, signal);
    } catch (err) {
      if (signal.aborted) throw err;
      // The host name still links the machine to its ledger entry; a missing tag is not worth the machine.
      this.ctx.logger.warn(`softlayer: tagging ${kind.name} ${id} failed: ${errorMessage(err)}`, { key });
    }
  }
}

function isReady(s: MachineStatus): boolean {
  return Boolean(s.provisionDate) && !s.activeTransaction && Boolean(s.publicIp ?? s.privateIp);
}

function notReady(what: string, deadlineMs: number, where: { datacenter: string; instanceType: string }) {
  return new ProvisionError(
    `${where.instanceType} in ${where.datacenter} ${what} within ${formatDuration(deadlineMs)}`,
    'INFRA',
    where,
  );
}

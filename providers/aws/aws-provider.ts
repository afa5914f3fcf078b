/**
 * AWS EC2 (`@aws-sdk/client-ec2`; credentials from the standard chain, endpoint from the
 * target or `AWS_ENDPOINT_URL_EC2` / `AWS_ENDPOINT_URL`). One instance per `acquire`:
 * ledger entry first, RunInstances with the entry's key as ClientToken and tags, the
 * dead-man switch in user data, wait until running, SSH + Docker answering. Capacity
 * errors try the next zone, quota errors the next region; the instance type never changes.
 * Nothing is terminated before EC2's own answer shows it carries the expected ledger key
 * and session (`identity.ts`): filters only narrow what is read (`inventory.ts`).
 */
import { DockerEngine } from '../../src/engine/docker-engine.js';
import {
  DescribeAvailabilityZonesCommand,
  DescribeInstanceTypesCommand,
  EC2Client,
  RunInstancesCommand,
  TerminateInstancesCommand,
  type Instance,
  type InstanceTypeInfo,
  type _InstanceType,
} from '@aws-sdk/client-ec2';
import {
  OwnershipError,
  ProvisionError,
  errorMessage,
  registerSecret,
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
  type TargetFacts,
  type TargetSpec,
  type TrackedEntry,
} from '../../src/core/index.js';
import type { AwsTargetOptions } from '../../src/config/targets/aws.js';
import { Ec2Endpoint, endpointAddress } from './ec2-endpoint.js';
import { errorCode, runFailure } from './failures.js';
import { assertOwned } from './identity.js';
import { absentIn, discoverIn, ownedByKey } from './inventory.js';
import { hardwareFactsOf } from './instance-type.js';
import { runInstancesInput } from './run-request.js';

export interface AwsProviderOptions {
  /** How often instance state is polled. @default 5000 */
  pollMs?: number;
  /** Give up waiting for `running` / `terminated` after this long. @default 900000 */
  stateTimeoutMs?: number;
}

/** An instance to take down, and the identity it must carry before it is. */
interface Held {
  instanceId: string;
  /** Its ledger entry (and `benchyard:ledger-key` tag). */
  key?: string;
  /** Its `benchyard:session` tag. */
  session?: string;
  region: string;
  endpoint?: string;
}

export class AwsProvider implements Provider {
  readonly name = 'aws';
  readonly capabilities = { elastic: true, spot: true, selfTerminate: true };
  private readonly clients = new Map<string, Ec2Endpoint>();
  private readonly held = new Map<string, Held>();
  private readonly typeFacts = new Map<string, Promise<InstanceTypeInfo | undefined>>();

  constructor(
    private readonly ctx: ProviderContext,
    private readonly opts: AwsProviderOptions = {},
  ) {}

  capacity(target: TargetSpec): MachineCount {
    return machineCountOf((target.options as AwsTargetOptions).count);
  }

  /** The instance type's GPUs and FPGAs (DescribeInstanceTypes in the first region); unknown if EC2 does not say. */
  async describe(target: TargetSpec, signal: AbortSignal): Promise<TargetFacts> {
    signal.throwIfAborted();
    const o = target.options as AwsTargetOptions;
    const ec2 = await this.client(o.regions[0]!, o.endpoint);
    const facts = await this.describeType(ec2, o.instanceType);
    if (!facts) return {};
    const hw = hardwareFactsOf(facts);
    return { gpus: hw.gpus ?? [], fpgas: hw.fpgas ?? [] };
  }

  async acquire(target: TargetSpec, signal: AbortSignal): Promise<Machine> {
    const o = target.options as AwsTargetOptions;
    let last: unknown;
    for (const region of o.regions) {
      const zones = o.subnetId
        ? [undefined]
        : (o.zones?.filter((z) => z.startsWith(region)) ?? (await this.zonesOf(region, o.endpoint, signal)));
      for (const zone of zones.length ? zones : [undefined]) {
        signal.throwIfAborted();
        try {
          return await this.launch(target, o, region, zone, signal);
        } catch (err) {
          if (!(err instanceof ProvisionError) || err.failureClass === 'INFRA') throw err;
          last = err;
          this.ctx.logger.warn(
            `${errorMessage(err)}; trying ${err.failureClass === 'CAPACITY' ? 'the next zone' : 'the next region'}`,
            {
              target: target.name,
            },
          );
          if (err.failureClass === 'QUOTA') break;
        }
      }
    }
    throw last;
  }

  private async launch(
    target: TargetSpec,
    o: AwsTargetOptions,
    region: string,
    zone: string | undefined,
    signal: AbortSignal,
  ): Promise<Machine> {
    const { ledger, clock } = this.ctx;
    const ec2 = await this.client(region, o.endpoint);
    const ami = typeof o.ami === 'string' ? o.ami : o.ami[region];
    if (!ami)
      throw new ProvisionError(`no AMI for region ${region} in target '${target.name}'`, 'QUOTA', { region });
    const spot = o.spot !== false;
    const expiresAt = new Date(clock.now() + (o.maxLifetime ?? this.ctx.maxLifetimeMs));
    using entry = recordIntent(
      ledger,
      {
        provider: this.name,
        kind: 'instance',
        target: target.name,
        region,
        ...(zone ? { zone } : {}),
        details: { instanceType: o.instanceType, ami, spot, ...(o.endpoint ? { endpoint: o.endpoint } : {}) },
      },
      expiresAt,
    );
    const failure = (err: unknown) => runFailure(ec2, err, { region, zone, instanceType: o.instanceType });
    // The timeline of this zone's attempt: an earlier zone's refusal is not this instance's.
    const provision: Partial<Record<ProvisionStep, number>> = {};
    const out = await entry.create(
      async () => {
        provision.requested = clock.now();
        // Not aborted mid-call: an answer we never read could hide a running instance.
        const answer = await ec2.client.send(
          new RunInstancesCommand(
            runInstancesInput(o, { ami, zone, spot, expiresAt, key: entry.key, target: target.name }, ledger),
          ),
        );
        const id = answer.Instances?.[0]?.InstanceId;
        if (!id) throw new Error('RunInstances answered without an instance');
        provision.created = clock.now();
        return id;
      },
      {
        created: (id) => ({ resourceId: id }),
        notCreated: (err) => {
          const f = failure(err);
          return f.unknown ? undefined : f.error.message;
        },
      },
    );
    if (!out.created) {
      if (out.outcome === 'unknown') await this.settleUnknown(ec2, entry, o, region);
      throw failure(out.error).error;
    }
    const instanceId = out.answer;
    const held: Held = { key: entry.key, session: ledger.session, instanceId, region, ...endpointOf(o) };
    try {
      const instance = await this.waitFor(ec2, instanceId, 'running', signal);
      provision.running = clock.now();
      const placedZone = instance.Placement?.AvailabilityZone ?? zone;
      if (placedZone) entry.note({ zone: placedZone });
      const publicIp = instance.PublicIpAddress;
      const privateIp = instance.PrivateIpAddress;
      const address =
        this.ctx.resolveAddress?.({
          key: entry.key,
          ...(publicIp ? { publicIp } : {}),
          ...(privateIp ? { privateIp } : {}),
        }) ?? (o.address === 'public' ? (publicIp ?? privateIp) : privateIp);
      if (!address)
        throw new ProvisionError(`instance ${instanceId} has no ${o.address} IP address`, 'INFRA');
      const facts = await this.describeType(ec2, o.instanceType);
      const session = await this.ctx.connector.connect(
        sshEndpoint(address, o.ssh, { user: 'ubuntu', agentSocket: this.ctx.sshAgentSocket }),
        signal,
        { onSsh: () => (provision.ssh ??= clock.now()) },
      );
      provision.docker = clock.now();
      const price = this.ctx.price?.({ provider: this.name, instanceType: o.instanceType, region, spot });
      const machine: Machine = {
        id: `aws:${instanceId}`,
        provider: this.name,
        instanceType: o.instanceType,
        region,
        ...(placedZone ? { zone: placedZone } : {}),
        ...(price ? { hourlyPriceUsd: price.usd } : {}),
        spot,
        hostname: instanceId,
        engine: new DockerEngine(session.docker, instanceId),
        ssh: session,
        localCgroups: false,
        ...(facts ? { hardware: hardwareFactsOf(facts) } : {}),
        provision,
      };
      this.held.set(machine.id, held);
      return machine;
    } catch (err) {
      await this.terminate(held, AbortSignal.timeout(this.opts.stateTimeoutMs ?? 900_000)).catch(
        (termErr: unknown) =>
          this.ctx.logger.error(
            `terminating ${instanceId} failed: ${errorMessage(termErr)}; 'benchyard gc' will retry`,
          ),
      );
      throw err;
    }
  }

  /**
   * RunInstances had no answer, or an unknown server error: it may still have created the
   * instance. Find it by its ledger key (and session, checked on its own tags: an API that
   * ignored the filter answers with every instance of the region) and take it down. Not
   * found: the entry stays open, so `benchyard gc` looks again by tag later.
   */
  private async settleUnknown(ec2: Ec2Endpoint, entry: TrackedEntry, o: AwsTargetOptions, region: string) {
    const expected = { ledgerKey: entry.key, session: entry.session };
    const found = await ownedByKey(ec2, expected).catch((findErr: unknown) => {
      this.ctx.logger.warn(`looking for instance ${entry.key} failed: ${errorMessage(findErr)}`);
      return [];
    });
    for (const i of found) {
      entry.active({ resourceId: i.InstanceId! });
      // A fresh signal: this cleanup must run even when the run was just cancelled.
      await this.terminate(
        { ...expected, key: entry.key, instanceId: i.InstanceId!, region, ...endpointOf(o) },
        AbortSignal.timeout(this.opts.stateTimeoutMs ?? 900_000),
      ).catch((termErr: unknown) =>
        this.ctx.logger.error(
          `terminating ${i.InstanceId} failed: ${errorMessage(termErr)}; 'benchyard gc' will retry`,
        ),
      );
    }
  }

  async release(machine: Machine, signal: AbortSignal): Promise<void> {
    const held = this.held.get(machine.id);
    if (!held) return;
    await machine.ssh?.close();
    await this.terminate(held, signal);
    this.held.delete(machine.id);
  }

  async discover(opts: {
    session?: string;
    hints: readonly ResourceRef[];
    signal: AbortSignal;
  }): Promise<ResourceRef[]> {
    const places = new Map<string, { region: string; endpoint?: string }>();
    for (const h of opts.hints)
      if (h.provider === this.name && h.region) {
        const endpoint = h.details?.endpoint as string | undefined;
        places.set(`${h.region} ${endpoint ?? ''}`, { region: h.region, ...(endpoint ? { endpoint } : {}) });
      }
    const found: ResourceRef[] = [];
    for (const { region, endpoint } of places.values()) {
      const ec2 = await this.client(region, endpoint);
      const hints = opts.hints.filter(
        (h) => h.provider === this.name && h.region === region && h.details?.endpoint === endpoint,
      );
      found.push(
        ...(await discoverIn(
          ec2,
          { ...(opts.session ? { session: opts.session } : {}), hints, ...(endpoint ? { endpoint } : {}) },
          opts.signal,
          this.ctx.logger,
        )),
      );
    }
    return found;
  }

  /**
   * Terminates the instance once EC2's own answer shows it carries the ref's ledger key
   * and session (`OwnershipError` otherwise, and nothing is touched).
   */
  async destroy(ref: ResourceRef, signal: AbortSignal): Promise<void> {
    if (!ref.ledgerKey && !ref.session)
      throw new OwnershipError(
        `aws: not terminating ${ref.id}: the reference names neither a ledger key nor a session`,
        { instance: ref.id },
      );
    const endpoint = ref.details?.endpoint as string | undefined;
    await this.terminate(
      {
        instanceId: ref.id,
        ...(ref.ledgerKey ? { key: ref.ledgerKey } : {}),
        ...(ref.session ? { session: ref.session } : {}),
        region: ref.region ?? 'us-east-1',
        ...(endpoint ? { endpoint } : {}),
      },
      signal,
    );
  }

  /** True only when EC2 holds nothing of the entry; `false` when it does or cannot tell. */
  async absent(ref: ResourceRef, signal: AbortSignal): Promise<boolean> {
    if (!ref.region || (!ref.ledgerKey && !ref.id)) return false;
    const ec2 = await this.client(ref.region, ref.details?.endpoint as string | undefined);
    try {
      return await absentIn(ec2, ref, signal);
    } catch (err) {
      if (signal.aborted) throw err;
      this.ctx.logger.warn(
        `aws: cannot tell whether ${ref.ledgerKey ?? ref.id} is gone: ${errorMessage(err)}`,
      );
      return false;
    }
  }

  /**
   * Reads the instance back, checks its identity, terminates it and waits until EC2 says
   * `terminated`; then its ledger entry (when this ledger has it) is closed.
   */
  private async terminate(held: Held, signal: AbortSignal): Promise<void> {
    const ec2 = await this.client(held.region, held.endpoint);
    const where = { region: held.region, endpoint: ec2.address };
    const current = await ec2.instance(held.instanceId, signal);
    if (current) assertOwned(current, { ledgerKey: held.key, session: held.session }, where);
    // Only this ledger's entry is moved along, and a closed one stays closed.
    const entry = held.key !== undefined ? trackEntry(this.ctx.ledger, held.key) : undefined;
    if (current && current.State?.Name !== 'terminated') {
      entry?.releasing();
      try {
        await ec2.call(() =>
          ec2.client.send(new TerminateInstancesCommand({ InstanceIds: [held.instanceId] }), {
            abortSignal: signal,
          }),
        );
        await this.waitFor(ec2, held.instanceId, 'terminated', signal);
      } catch (err) {
        if (errorCode(err) !== 'InvalidInstanceID.NotFound') throw err;
      }
    }
    entry?.released();
  }

  private async waitFor(
    ec2: Ec2Endpoint,
    id: string,
    state: 'running' | 'terminated',
    signal: AbortSignal,
  ): Promise<Instance> {
    const deadline = this.ctx.clock.now() + (this.opts.stateTimeoutMs ?? 900_000);
    for (;;) {
      const instance = await ec2.instance(id, signal);
      const now = instance?.State?.Name;
      if (instance && now === state) return instance;
      if (!instance && state === 'terminated') return { InstanceId: id, State: { Name: 'terminated' } };
      if (state === 'running' && (now === 'terminated' || now === 'shutting-down'))
        throw new ProvisionError(
          `instance ${id} went to '${now}' while starting (${instance?.StateReason?.Message ?? 'no reason given'})`,
          'INFRA',
          { instance: id },
        );
      if (this.ctx.clock.now() > deadline)
        throw new ProvisionError(
          `instance ${id} did not become '${state}' in time (still '${now ?? 'unknown'}')`,
          'INFRA',
        );
      await this.ctx.clock.sleep(this.opts.pollMs ?? 5_000, signal);
    }
  }

  private async zonesOf(
    region: string,
    endpoint: string | undefined,
    signal: AbortSignal,
  ): Promise<string[]> {
    const ec2 = await this.client(region, endpoint);
    const out = await ec2.call(() =>
      ec2.client.send(
        new DescribeAvailabilityZonesCommand({ Filters: [{ Name: 'state', Values: ['available'] }] }),
        { abortSignal: signal },
      ),
    );
    // The filter again on the answer: an API that ignored it lists impaired zones too.
    return (out.AvailabilityZones ?? [])
      .filter((z) => z.State === undefined || z.State === 'available')
      .map((z) => z.ZoneName!)
      .filter(Boolean)
      .sort();
  }

  private describeType(ec2: Ec2Endpoint, instanceType: string): Promise<InstanceTypeInfo | undefined> {
    let facts = this.typeFacts.get(instanceType);
    if (!facts) {
      facts = ec2
        .call(() =>
          ec2.client.send(
            new DescribeInstanceTypesCommand({ InstanceTypes: [instanceType as _InstanceType] }),
          ),
        )
        .then((out) => out.InstanceTypes?.[0])
        .catch((err: unknown) => {
          this.ctx.logger.warn(`DescribeInstanceTypes ${instanceType}: ${errorMessage(err)}`);
          return undefined;
        });
      this.typeFacts.set(instanceType, facts);
    }
    return facts;
  }

  private async client(region: string, endpoint: string | undefined): Promise<Ec2Endpoint> {
    const id = `${region} ${endpoint ?? ''}`;
    let ec2 = this.clients.get(id);
    if (!ec2) {
      const client = new EC2Client({ region, ...(endpoint ? { endpoint } : {}), maxAttempts: 3 });
      ec2 = new Ec2Endpoint(client, region, endpointAddress(region, endpoint));
      this.clients.set(id, ec2);
      // From here on the secret key is masked wherever it would appear.
      const creds = await client.config.credentials().catch(() => undefined);
      registerSecret(creds?.secretAccessKey);
      registerSecret(creds?.sessionToken);
    }
    return ec2;
  }
}

function endpointOf(o: AwsTargetOptions): { endpoint?: string } {
  return o.endpoint ? { endpoint: o.endpoint } : {};
}

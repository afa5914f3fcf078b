/**
 * AWS EC2 (`@aws-sdk/client-ec2`; credentials from the standard chain, endpoint from the
 * target or `AWS_ENDPOINT_URL_EC2` / `AWS_ENDPOINT_URL`). One instance per `acquire`:
 * ledger entry first, RunInstances with the entry's key as ClientToken and tags, the
 * dead-man switch in user data, wait until running, SSH + Docker answering. Capacity
 * errors try the next zone, quota errors the next region; the instance type never changes.
 */
import {
  DescribeAvailabilityZonesCommand,
  DescribeInstanceTypesCommand,
  DescribeInstancesCommand,
  EC2Client,
  RunInstancesCommand,
  TerminateInstancesCommand,
  type Instance,
  type InstanceTypeInfo,
  type Tag,
  type _InstanceType,
} from '@aws-sdk/client-ec2';
import {
  CLOUD_TAGS,
  ProvisionError,
  errorMessage,
  registerSecret,
  sshEndpoint,
  type HardwareFingerprint,
  type Machine,
  type Provider,
  type ProviderContext,
  type ResourceRef,
  machineCountOf,
  type MachineCount,
  type TargetFacts,
  type TargetSpec,
} from '../../src/core/index.js';
import type { AwsTargetOptions } from '../../src/config/targets/aws.js';
import { classifyRunInstances, errorCode, outcomeUnknown } from './failures.js';
import { deadManUserData } from './user-data.js';

export interface AwsProviderOptions {
  /** How often instance state is polled. @default 5000 */
  pollMs?: number;
  /** Give up waiting for `running` / `terminated` after this long. @default 900000 */
  stateTimeoutMs?: number;
}

interface Held {
  key: string;
  instanceId: string;
  region: string;
  endpoint?: string;
}

const LIVE_STATES = ['pending', 'running', 'stopping', 'stopped', 'shutting-down'];

export class AwsProvider implements Provider {
  readonly name = 'aws';
  readonly capabilities = { elastic: true, spot: true, selfTerminate: true };
  private readonly clients = new Map<string, EC2Client>();
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
    const hw = fingerprintOf(facts);
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
    const entry = ledger.intend(
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
    const tags: Tag[] = [
      { Key: 'Name', Value: `benchyard-${target.name}-${entry.key}` },
      { Key: CLOUD_TAGS.session, Value: ledger.session },
      { Key: CLOUD_TAGS.owner, Value: ledger.owner },
      { Key: CLOUD_TAGS.expiresAt, Value: expiresAt.toISOString() },
      { Key: CLOUD_TAGS.ledgerKey, Value: entry.key },
    ];
    let instanceId: string | undefined;
    try {
      // Not aborted mid-call: an answer we never read could hide a running instance.
      const out = await ec2.send(
        new RunInstancesCommand({
          ImageId: ami,
          InstanceType: o.instanceType as _InstanceType,
          MinCount: 1,
          MaxCount: 1,
          ClientToken: `benchyard-${entry.key}`,
          InstanceInitiatedShutdownBehavior: 'terminate',
          UserData: Buffer.from(deadManUserData(expiresAt, o.userData)).toString('base64'),
          TagSpecifications: [
            { ResourceType: 'instance', Tags: tags },
            { ResourceType: 'volume', Tags: tags },
          ],
          ...(zone ? { Placement: { AvailabilityZone: zone } } : {}),
          ...(o.keyName ? { KeyName: o.keyName } : {}),
          ...(o.securityGroupIds ? { SecurityGroupIds: o.securityGroupIds } : {}),
          ...(o.subnetId ? { SubnetId: o.subnetId } : {}),
          ...(spot
            ? {
                InstanceMarketOptions: {
                  MarketType: 'spot',
                  SpotOptions: {
                    SpotInstanceType: 'one-time',
                    InstanceInterruptionBehavior: 'terminate',
                    ...(typeof o.spot === 'object' && o.spot.maxPrice
                      ? { MaxPrice: String(o.spot.maxPrice) }
                      : {}),
                  },
                },
              }
            : {}),
        }),
      );
      instanceId = out.Instances?.[0]?.InstanceId;
      if (!instanceId) throw new Error('RunInstances answered without an instance');
      ledger.update(entry.key, { resourceId: instanceId, status: 'active' });
    } catch (err) {
      const classified = classifyRunInstances(err, {
        region,
        ...(zone ? { zone } : {}),
        instanceType: o.instanceType,
      });
      if (
        classified instanceof ProvisionError &&
        classified.failureClass === 'INFRA' &&
        outcomeUnknown(err)
      ) {
        // No answer, or an unknown server error: the request may still have created the
        // instance. Find it by its ledger key and take it down.
        const found = await this.findByLedgerKey(ec2, entry.key).catch(() => undefined);
        if (found?.InstanceId) {
          ledger.update(entry.key, { resourceId: found.InstanceId, status: 'active' });
          // A fresh signal: this cleanup must run even when the run was just cancelled.
          await this.terminate(
            { key: entry.key, instanceId: found.InstanceId, region, ...endpointOf(o) },
            AbortSignal.timeout(this.opts.stateTimeoutMs ?? 900_000),
          );
        }
        // Not found: left open, so `benchyard gc` looks again by tag later.
        throw classified;
      }
      ledger.close(entry.key, 'failed', classified.message);
      throw classified;
    }
    const held: Held = { key: entry.key, instanceId, region, ...endpointOf(o) };
    try {
      const instance = await this.waitFor(ec2, instanceId, 'running', signal);
      const placedZone = instance.Placement?.AvailabilityZone ?? zone;
      if (placedZone) ledger.update(entry.key, { zone: placedZone });
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
        sshEndpoint(address, o.ssh, { user: 'ubuntu' }),
        signal,
      );
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
        docker: session.docker,
        ssh: session,
        localCgroups: false,
        ...(facts ? { hardware: fingerprintOf(facts) } : {}),
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
      const filters = [
        { Name: 'tag-key', Values: [CLOUD_TAGS.session] },
        { Name: 'instance-state-name', Values: LIVE_STATES },
        ...(opts.session ? [{ Name: `tag:${CLOUD_TAGS.session}`, Values: [opts.session] }] : []),
      ];
      let NextToken: string | undefined;
      do {
        const page = await ec2.send(new DescribeInstancesCommand({ Filters: filters, NextToken }), {
          abortSignal: opts.signal,
        });
        for (const r of page.Reservations ?? [])
          for (const i of r.Instances ?? []) {
            const tag = (k: string) => i.Tags?.find((t) => t.Key === k)?.Value;
            const session = tag(CLOUD_TAGS.session);
            const owner = tag(CLOUD_TAGS.owner);
            const expiresAt = tag(CLOUD_TAGS.expiresAt);
            const ledgerKey = tag(CLOUD_TAGS.ledgerKey);
            found.push({
              provider: this.name,
              kind: 'instance',
              id: i.InstanceId!,
              region,
              ...(i.State?.Name ? { state: i.State.Name } : {}),
              ...(session ? { session } : {}),
              ...(owner ? { owner } : {}),
              ...(expiresAt ? { expiresAt } : {}),
              ...(ledgerKey ? { ledgerKey } : {}),
              details: endpoint ? { endpoint } : {},
            });
          }
        NextToken = page.NextToken;
      } while (NextToken);
    }
    return found;
  }

  async destroy(ref: ResourceRef, signal: AbortSignal): Promise<void> {
    const endpoint = ref.details?.endpoint as string | undefined;
    await this.terminate(
      {
        key: ref.ledgerKey ?? '',
        instanceId: ref.id,
        region: ref.region ?? 'us-east-1',
        ...(endpoint ? { endpoint } : {}),
      },
      signal,
    );
  }

  /** Terminates and waits until EC2 says `terminated`; then the ledger entry is closed. */
  private async terminate(held: Held, signal: AbortSignal): Promise<void> {
    const ec2 = await this.client(held.region, held.endpoint);
    if (held.key) this.ctx.ledger.update(held.key, { status: 'releasing' });
    try {
      await ec2.send(new TerminateInstancesCommand({ InstanceIds: [held.instanceId] }), {
        abortSignal: signal,
      });
      await this.waitFor(ec2, held.instanceId, 'terminated', signal);
    } catch (err) {
      if (errorCode(err) !== 'InvalidInstanceID.NotFound') throw err;
    }
    if (held.key) this.ctx.ledger.close(held.key);
  }

  private async waitFor(
    ec2: EC2Client,
    id: string,
    state: 'running' | 'terminated',
    signal: AbortSignal,
  ): Promise<Instance> {
    const deadline = this.ctx.clock.now() + (this.opts.stateTimeoutMs ?? 900_000);
    for (;;) {
      const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }), {
        abortSignal: signal,
      });
      const instance = out.Reservations?.[0]?.Instances?.[0];
      const now = instance?.State?.Name;
      if (instance && now === state) return instance;
      if (state === 'running' && (now === 'terminated' || now === 'shutting-down'))
        throw new ProvisionError(
          `instance ${id} went to '${now}' while starting (${instance?.StateReason?.Message ?? 'no reason given'})`,
          'INFRA',
          { instance: id },
        );
      if (this.ctx.clock.now() > deadline)
        throw new ProvisionError(
          `instance ${id} did not become '${state}' in time (still '${now}')`,
          'INFRA',
        );
      await this.ctx.clock.sleep(this.opts.pollMs ?? 5_000, signal);
    }
  }

  private async findByLedgerKey(ec2: EC2Client, key: string): Promise<Instance | undefined> {
    const out = await ec2.send(
      new DescribeInstancesCommand({ Filters: [{ Name: `tag:${CLOUD_TAGS.ledgerKey}`, Values: [key] }] }),
    );
    return out.Reservations?.flatMap((r) => r.Instances ?? []).find((i) => i.State?.Name !== 'terminated');
  }

  private async zonesOf(
    region: string,
    endpoint: string | undefined,
    signal: AbortSignal,
  ): Promise<string[]> {
    const ec2 = await this.client(region, endpoint);
    const out = await ec2.send(
      new DescribeAvailabilityZonesCommand({ Filters: [{ Name: 'state', Values: ['available'] }] }),
      { abortSignal: signal },
    );
    return (out.AvailabilityZones ?? [])
      .map((z) => z.ZoneName!)
      .filter(Boolean)
      .sort();
  }

  private describeType(ec2: EC2Client, instanceType: string): Promise<InstanceTypeInfo | undefined> {
    let facts = this.typeFacts.get(instanceType);
    if (!facts) {
      facts = ec2
        .send(new DescribeInstanceTypesCommand({ InstanceTypes: [instanceType as _InstanceType] }))
        .then((out) => out.InstanceTypes?.[0])
        .catch((err: unknown) => {
          this.ctx.logger.warn(`DescribeInstanceTypes ${instanceType}: ${errorMessage(err)}`);
          return undefined;
        });
      this.typeFacts.set(instanceType, facts);
    }
    return facts;
  }

  private async client(region: string, endpoint: string | undefined): Promise<EC2Client> {
    const id = `${region} ${endpoint ?? ''}`;
    let client = this.clients.get(id);
    if (!client) {
      // The SDK warns on every run that *later* SDK releases need Node 22; the locked one runs on 20.
      process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
      client = new EC2Client({ region, ...(endpoint ? { endpoint } : {}), maxAttempts: 3 });
      this.clients.set(id, client);
      // From here on the secret key is masked wherever it would appear.
      const creds = await client.config.credentials().catch(() => undefined);
      registerSecret(creds?.secretAccessKey);
      registerSecret(creds?.sessionToken);
    }
    return client;
  }
}

function endpointOf(o: AwsTargetOptions): { endpoint?: string } {
  return o.endpoint ? { endpoint: o.endpoint } : {};
}

/** What DescribeInstanceTypes says about the hardware. */
export function fingerprintOf(t: InstanceTypeInfo): HardwareFingerprint {
  const gpus = (t.GpuInfo?.Gpus ?? []).map((g) => ({
    model: `${g.Manufacturer ?? ''} ${g.Name ?? ''}`.trim(),
    count: g.Count ?? 1,
    ...(g.MemoryInfo?.SizeInMiB ? { memoryMiB: g.MemoryInfo.SizeInMiB } : {}),
  }));
  const fpgas = (t.FpgaInfo?.Fpgas ?? []).map((f) => ({
    model: `${f.Manufacturer ?? ''} ${f.Name ?? ''}`.trim(),
    count: f.Count ?? 1,
    ...(f.MemoryInfo?.SizeInMiB ? { memoryMiB: f.MemoryInfo.SizeInMiB } : {}),
  }));
  return {
    ...(t.ProcessorInfo?.Manufacturer ? { cpuModel: t.ProcessorInfo.Manufacturer } : {}),
    ...(t.VCpuInfo?.DefaultVCpus ? { cpuCores: t.VCpuInfo.DefaultVCpus } : {}),
    ...(t.MemoryInfo?.SizeInMiB ? { memoryBytes: t.MemoryInfo.SizeInMiB * 1024 * 1024 } : {}),
    ...(gpus.length ? { gpus } : {}),
    ...(fpgas.length ? { fpgas } : {}),
  };
}

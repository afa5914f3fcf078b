/**
 * The RunInstances request of one ledger entry: the entry's key as ClientToken (EC2 makes
 * at most one instance per token, so a retried or repeated call never makes a second) and
 * as a tag, benchyard's identity tags on the instance and its volumes in the same call
 * (tag-on-create: the instance never exists untagged), and the dead-man switch.
 */
import type { RunInstancesCommandInput, Tag, _InstanceType } from '@aws-sdk/client-ec2';
import { CLOUD_TAGS, type Ledger } from '../../src/core/index.js';
import type { AwsTargetOptions } from '../../src/config/targets/aws.js';
import { deadManUserData } from './user-data.js';

export interface LaunchOf {
  key: string;
  target: string;
  ami: string;
  zone: string | undefined;
  spot: boolean;
  expiresAt: Date;
}

export function runInstancesInput(
  o: AwsTargetOptions,
  l: LaunchOf,
  ledger: Pick<Ledger, 'session' | 'owner'>,
): RunInstancesCommandInput {
  const tags: Tag[] = [
    { Key: 'Name', Value: `benchyard-${l.target}-${l.key}` },
    { Key: CLOUD_TAGS.session, Value: ledger.session },
    { Key: CLOUD_TAGS.owner, Value: ledger.owner },
    { Key: CLOUD_TAGS.expiresAt, Value: l.expiresAt.toISOString() },
    { Key: CLOUD_TAGS.ledgerKey, Value: l.key },
  ];
  return {
    ImageId: l.ami,
    InstanceType: o.instanceType as _InstanceType,
    MinCount: 1,
    MaxCount: 1,
    ClientToken: `benchyard-${l.key}`,
    InstanceInitiatedShutdownBehavior: 'terminate',
    UserData: Buffer.from(deadManUserData(l.expiresAt, o.userData)).toString('base64'),
    TagSpecifications: [
      { ResourceType: 'instance', Tags: tags },
      { ResourceType: 'volume', Tags: tags },
    ],
    ...(l.zone ? { Placement: { AvailabilityZone: l.zone } } : {}),
    ...(o.keyName ? { KeyName: o.keyName } : {}),
    ...(o.securityGroupIds ? { SecurityGroupIds: o.securityGroupIds } : {}),
    ...(o.subnetId ? { SubnetId: o.subnetId } : {}),
    ...(l.spot
      ? {
          InstanceMarketOptions: {
            MarketType: 'spot',
            SpotOptions: {
              SpotInstanceType: 'one-time',
              InstanceInterruptionBehavior: 'terminate',
              ...(typeof o.spot === 'object' && o.spot.maxPrice ? { MaxPrice: String(o.spot.maxPrice) } : {}),
            },
          },
        }
      : {}),
  };
}

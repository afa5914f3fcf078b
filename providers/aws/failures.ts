/**
 * EC2 error codes → what to try next. Capacity errors move to another zone of the same
 * region, quota errors to the next region; neither ever changes the instance type.
 * Codes from the EC2 API reference, "Error codes for the Amazon EC2 API".
 */
import { InfrastructureError, InputError, ProvisionError, errorMessage } from '../../src/core/index.js';
import type { Ec2Endpoint } from './ec2-endpoint.js';

const CAPACITY = new Set([
  'InsufficientInstanceCapacity',
  'InsufficientHostCapacity',
  'InsufficientReservedInstanceCapacity',
  'InsufficientCapacity',
  'InsufficientFreeAddressesInSubnet',
  // The instance type is not offered in this zone: another zone may have it.
  'Unsupported',
  'SpotMaxPriceTooLow',
  'InsufficientSpotCapacity',
]);

const QUOTA = new Set([
  'InstanceLimitExceeded',
  'VcpuLimitExceeded',
  'MaxSpotInstanceCountExceeded',
  'InsufficientAddressCapacity',
  'AddressLimitExceeded',
  'ResourceLimitExceeded',
]);

const BAD_INPUT = new Set([
  'InvalidAMIID.Malformed',
  'InvalidAMIID.NotFound',
  'InvalidKeyPair.NotFound',
  'InvalidGroup.NotFound',
  'InvalidSubnetID.NotFound',
  'InvalidParameterValue',
  'InvalidParameterCombination',
  'AuthFailure',
  'UnauthorizedOperation',
  'InvalidClientTokenId',
  'OptInRequired',
]);

export function errorCode(err: unknown): string | undefined {
  const e = err as { name?: string; Code?: string; code?: string };
  return e?.Code ?? e?.code ?? e?.name;
}

/** Turns a RunInstances failure into the error that says what to try next. */
export function classifyRunInstances(
  err: unknown,
  where: { region: string; zone?: string; instanceType: string },
) {
  const code = errorCode(err) ?? 'Unknown';
  const at = `${where.instanceType} in ${where.zone ?? where.region}`;
  const meta = { code, region: where.region, ...(where.zone ? { zone: where.zone } : {}) };
  if (CAPACITY.has(code))
    return new ProvisionError(`no capacity for ${at} (${code}): ${errorMessage(err)}`, 'CAPACITY', meta, {
      cause: err,
    });
  if (QUOTA.has(code))
    return new ProvisionError(`quota reached for ${at} (${code}): ${errorMessage(err)}`, 'QUOTA', meta, {
      cause: err,
    });
  if (BAD_INPUT.has(code))
    return new InputError(`EC2 refused ${at} (${code}): ${errorMessage(err)}`, meta, { cause: err });
  return new ProvisionError(
    `EC2 RunInstances failed for ${at} (${code}): ${errorMessage(err)}`,
    'INFRA',
    meta,
    {
      cause: err,
    },
  );
}

/** Errors after which the request may or may not have created an instance. */
export function outcomeUnknown(err: unknown): boolean {
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return status === undefined || status >= 500;
}

/**
 * What a failed RunInstances call means: the error to throw (what to try next), and whether
 * the call may still have created the instance (no answer, or an unknown server error).
 */
export function runFailure(
  ec2: Pick<Ec2Endpoint, 'explain'>,
  err: unknown,
  where: { region: string; zone?: string | undefined; instanceType: string },
): { error: Error; unknown: boolean } {
  const explained = ec2.explain(err);
  const error =
    explained instanceof InfrastructureError
      ? new ProvisionError(explained.message, 'INFRA', explained.meta, { cause: err })
      : (explained ??
        classifyRunInstances(err, {
          region: where.region,
          ...(where.zone ? { zone: where.zone } : {}),
          instanceType: where.instanceType,
        }));
  const unknown = error instanceof ProvisionError && error.failureClass === 'INFRA' && outcomeUnknown(err);
  return { error, unknown };
}

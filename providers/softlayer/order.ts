/**
 * The createObject templates benchyard sends, the per-kind defaults, and the polling loop
 * used while a machine is provisioned or cancelled.
 *
 * Template fields follow https://sldn.softlayer.com/reference/services/SoftLayer_Virtual_Guest/createObject/
 * and …/SoftLayer_Hardware/createObject/; the flavor goes in
 * `supplementalCreateObjectOptions.flavorKeyName` and `localDiskFlag` is left out with a
 * flavor, as slcli does (`SoftLayer/CLI/virt/create.py`: "The primary disk is included in the
 * flavor and the local_disk flag is not needed").
 */
import type { Clock } from '../../src/core/index.js';
import type { SoftlayerTargetOptions } from '../../src/config/targets/softlayer.js';

export const DEFAULT_OS = 'UBUNTU_22_64';

/** Kind-dependent defaults of the target options (the schema leaves them unset). */
export const DEFAULTS = {
  virtual: { pollIntervalMs: 10_000, deadlineMs: 3_600_000, teardownMs: 30 * 60_000 },
  hardware: { pollIntervalMs: 60_000, deadlineMs: 4 * 3_600_000, teardownMs: 4 * 3_600_000 },
} as const;

export function timings(options: SoftlayerTargetOptions) {
  const d = DEFAULTS[options.kind];
  const deadlineMs = options.deadline ?? d.deadlineMs;
  return {
    pollIntervalMs: options.pollInterval ?? d.pollIntervalMs,
    deadlineMs,
    // Bare metal can only be cancelled once its provisioning transaction ends.
    teardownMs: Math.max(d.teardownMs, options.kind === 'hardware' ? deadlineMs : 0),
  };
}

export function orderTemplate(
  options: SoftlayerTargetOptions,
  where: { hostname: string; datacenter: string },
): Record<string, unknown> {
  const common = {
    hostname: where.hostname,
    domain: options.domain,
    datacenter: { name: where.datacenter },
    hourlyBillingFlag: true,
    ...(options.sshKeyIds.length ? { sshKeys: options.sshKeyIds.map((id) => ({ id })) } : {}),
    ...(options.userData !== undefined ? { userData: [{ value: options.userData }] } : {}),
  };
  if (options.kind === 'hardware') {
    return {
      ...common,
      fixedConfigurationPreset: { keyName: options.preset },
      operatingSystemReferenceCode: options.os ?? DEFAULT_OS,
    };
  }
  return {
    ...common,
    supplementalCreateObjectOptions: { flavorKeyName: options.flavor },
    ...(options.image
      ? { blockDeviceTemplateGroup: { globalIdentifier: options.image } }
      : { operatingSystemReferenceCode: options.os ?? DEFAULT_OS }),
  };
}

/**
 * Calls `check` every `intervalMs` until it returns a value; `undefined` once `deadline`
 * (clock time) has passed. Aborts with the signal's reason.
 */
export async function pollUntil<T>(
  check: () => Promise<T | undefined>,
  o: { intervalMs: number; deadline: number; clock: Clock; signal: AbortSignal },
): Promise<T | undefined> {
  for (;;) {
    o.signal.throwIfAborted();
    const value = await check();
    if (value !== undefined) return value;
    const left = o.deadline - o.clock.now();
    if (left <= 0) return undefined;
    await o.clock.sleep(Math.min(o.intervalMs, left), o.signal);
  }
}

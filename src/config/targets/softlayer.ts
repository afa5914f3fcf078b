/**
 * Target options of `provider: softlayer` (IBM Cloud classic infrastructure): hourly
 * virtual guests (`SoftLayer_Virtual_Guest::createObject`) or hourly bare metal from a
 * fixed configuration preset (`SoftLayer_Hardware::createObject`).
 *
 * Kind-dependent defaults (poll interval, deadline) stay unset here and are resolved by the
 * provider, so this remains a plain object schema the matrix can `.extend()`.
 */
import { z } from 'zod';
import { duration } from '../common-schema.js';
import { machineCount } from './count.js';
import { DEFAULT_SSH_LOGIN, sshLogin } from './ssh.js';

const KEY_NAME = /^[A-Z0-9][A-Z0-9_]*$/;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const softlayerTarget = z
  .strictObject({
    kind: z
      .enum(['virtual', 'hardware'])
      .default('virtual')
      .describe('virtual: an hourly virtual server (flavor); hardware: hourly bare metal (preset)'),
    count: machineCount(64),
    datacenters: z
      .array(z.string().regex(/^[a-z]{3}\d{2}$/, 'a datacenter name such as dal10 or fra02'))
      .min(1)
      .describe('Datacenters in order of preference: a capacity error moves to the next one'),
    flavor: z
      .string()
      .regex(KEY_NAME, 'a flavor key name such as AC1_8X60X25')
      .optional()
      .describe(
        'kind virtual: supplementalCreateObjectOptions.flavorKeyName, e.g. AC1_8X60X25 (P100 GPU), AC2_8X60X25; never changed on failure',
      ),
    preset: z
      .string()
      .regex(KEY_NAME, 'a preset key name')
      .optional()
      .describe(
        'kind hardware: fixedConfigurationPreset.keyName from SoftLayer_Hardware::getCreateObjectOptions (e.g. a K80 GPU preset)',
      ),
    os: z
      .string()
      .regex(KEY_NAME, 'an operatingSystemReferenceCode such as UBUNTU_22_64')
      .optional()
      .describe('operatingSystemReferenceCode (default UBUNTU_22_64 unless image is set)'),
    image: z
      .string()
      .regex(GUID, 'the globalIdentifier (GUID) of an image template')
      .optional()
      .describe('Block device template group globalIdentifier to boot from instead of os (virtual only)'),
    domain: z
      .string()
      .regex(
        /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/i,
        'a domain such as example.com',
      )
      .default('benchyard.local')
      .describe('Domain of the machine; the host name is always by-<ledger key>'),
    sshKeyIds: z
      .array(z.int().positive())
      .describe('SoftLayer_Security_Ssh_Key ids installed for root; the private half goes in ssh.keyFile'),
    userData: z
      .string()
      .optional()
      .describe('Arbitrary user data for the machine (e.g. a cloud-init script installing Docker)'),
    endpoint: z
      .url({ protocol: /^https?$/ })
      .optional()
      .describe(
        'REST endpoint (default: endpoint_url of ~/.softlayer, else https://api.softlayer.com/rest/v3.1/)',
      ),
    pollInterval: duration(10, 10 * 60_000)
      .optional()
      .describe('How often provisioning is polled (default 10s virtual, 60s hardware)'),
    deadline: duration(1000, 48 * 3_600_000)
      .optional()
      .describe(
        'Give up (and cancel the machine) if it is not ready this long after the order (default 1h virtual, 4h hardware)',
      ),
    ssh: sshLogin
      .default({ ...DEFAULT_SSH_LOGIN, user: 'root', connectTimeoutMs: 600_000 })
      .describe('How to log in to the machine (default user root, 10 minutes to connect)'),
  })
  .superRefine((v, ctx) => {
    if (v.kind === 'virtual') {
      if (!v.flavor)
        ctx.addIssue({ code: 'custom', path: ['flavor'], message: 'kind virtual needs a flavor' });
      if (v.preset)
        ctx.addIssue({ code: 'custom', path: ['preset'], message: 'preset is for kind hardware' });
    } else {
      if (!v.preset)
        ctx.addIssue({ code: 'custom', path: ['preset'], message: 'kind hardware needs a preset' });
      if (v.flavor) ctx.addIssue({ code: 'custom', path: ['flavor'], message: 'flavor is for kind virtual' });
      if (v.image)
        ctx.addIssue({
          code: 'custom',
          path: ['image'],
          message: 'image is not supported for kind hardware',
        });
    }
    if (v.os && v.image)
      ctx.addIssue({ code: 'custom', path: ['image'], message: 'set either os or image, not both' });
  });

export type SoftlayerTargetOptions = z.output<typeof softlayerTarget>;

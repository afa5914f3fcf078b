/** Target options of `provider: aws` (EC2). */
import { z } from 'zod';
import { duration } from '../common-schema.js';
import { machineCount } from './count.js';
import { sshLogin, DEFAULT_SSH_LOGIN } from './ssh.js';

const REGION = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'an AWS region such as us-east-1');

const AMI = /^ami-[0-9a-f]+$/;
const AMI_MESSAGE = 'an AMI id (ami-…), or a map of region → AMI id';

export const awsTarget = z.strictObject({
  regions: z
    .array(REGION)
    .min(1)
    .describe('Regions in order of preference: a quota error (InstanceLimitExceeded, …) moves to the next'),
  zones: z
    .array(z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d+[a-z]$/, 'an availability zone such as us-east-1a'))
    .optional()
    .describe(
      'Availability zones to try in order (a capacity error moves to the next zone of the same region); default: every zone of the region',
    ),
  instanceType: z
    .string()
    .regex(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/, 'an EC2 instance type such as g4dn.xlarge')
    .describe('Never changed on failure: a result is always of this instance type'),
  ami: z
    .union([z.string().regex(AMI, AMI_MESSAGE), z.record(REGION, z.string().regex(AMI, AMI_MESSAGE))], {
      error: AMI_MESSAGE,
    })
    .describe('AMI id, or a map region → AMI id'),
  count: machineCount(256),
  keyName: z.string().min(1).optional().describe('EC2 key pair whose private key is ssh.keyFile'),
  securityGroupIds: z.array(z.string().min(1)).optional(),
  subnetId: z.string().min(1).optional().describe('Pins the zone: no zone fallback'),
  spot: z
    .union([z.boolean(), z.strictObject({ maxPrice: z.number().positive().optional() })])
    .default(false)
    .describe('Spot instances (reclaimed ones fail as INTERRUPTED)'),
  endpoint: z
    .url({ protocol: /^https?$/ })
    .optional()
    .describe('EC2 endpoint; default from AWS_ENDPOINT_URL_EC2 / AWS_ENDPOINT_URL, else AWS'),
  address: z.enum(['public', 'private']).default('public').describe('Which IP of the instance to SSH to'),
  userData: z
    .string()
    .optional()
    .describe('Shell script run at boot after benchyard’s own (e.g. installing Docker on a plain AMI)'),
  maxLifetime: duration(60_000, 7 * 24 * 3_600_000)
    .optional()
    .describe('The instance terminates itself this long after boot (default: the run’s --max-lifetime)'),
  ssh: sshLogin.default({ ...DEFAULT_SSH_LOGIN, user: 'ubuntu', connectTimeoutMs: 600_000 }),
});

export type AwsTargetOptions = z.output<typeof awsTarget>;

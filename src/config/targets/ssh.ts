/** The `ssh:` block shared by every remote target (ssh hosts, aws, softlayer). */
import { z } from 'zod';
import type { SshLoginOptions } from '../../core/index.js';
import { duration } from '../common-schema.js';

export const sshLogin = z
  .strictObject({
    user: z.string().min(1).optional().describe('Login user (default: root, or the provider default)'),
    port: z.int().min(1).max(65535).optional().describe('SSH port (default 22)'),
    keyFile: z.string().min(1).optional().describe('Private key file (read at connect time, never logged)'),
    agent: z
      .union([z.boolean(), z.string().min(1)])
      .optional()
      .describe('Authenticate with ssh-agent: true for SSH_AUTH_SOCK, or a socket path'),
    knownHosts: z
      .string()
      .min(1)
      .optional()
      .describe('known_hosts file to verify host keys against (default ~/.ssh/known_hosts)'),
    hostKeyCheck: z
      .enum(['strict', 'off'])
      .default('strict')
      .describe("'off' skips host key verification: an explicit opt-out for throwaway machines"),
    dockerSocket: z
      .string()
      .min(1)
      .default('/var/run/docker.sock')
      .describe("The Docker engine's socket on the machine"),
    connectTimeout: duration(1000, 4 * 3_600_000)
      .default(300_000)
      .describe('Keep trying to connect (machine booting, Docker starting) this long'),
  })
  .transform(({ connectTimeout, ...rest }): SshLoginOptions => ({
    ...rest,
    connectTimeoutMs: connectTimeout,
  }));

export const DEFAULT_SSH_LOGIN = sshLogin.parse({});

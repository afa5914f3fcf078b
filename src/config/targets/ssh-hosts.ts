/** Target options of `provider: ssh`: machines that exist already, leased over SSH. */
import { z } from 'zod';
import { sshLogin, DEFAULT_SSH_LOGIN } from './ssh.js';

const host = z.union([
  z.string().min(1),
  z.strictObject({
    host: z.string().min(1).describe('Address or ~/.ssh/config host alias'),
    port: z.int().min(1).max(65535).optional(),
    user: z.string().min(1).optional(),
    dockerSocket: z.string().min(1).optional(),
  }),
]);

export const sshHostsTarget = z.strictObject({
  hosts: z
    .array(host)
    .min(1)
    .describe('The machines (addresses or ~/.ssh/config aliases); each is leased while the run uses it'),
  ssh: sshLogin.default(DEFAULT_SSH_LOGIN),
});

export type SshHostsTargetOptions = z.output<typeof sshHostsTarget>;

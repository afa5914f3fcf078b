/**
 * Target options of `provider: ssh`: machines that exist already, leased over SSH. Either
 * a fixed list (`hosts:`) or a named pool (`pool:`) whose members are read from the state
 * store while the run goes, so machines can join and leave it.
 */
import { z } from 'zod';
import { NAME } from '../common-schema.js';
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

export const sshHostsTarget = z
  .strictObject({
    hosts: z
      .array(host)
      .min(1)
      .optional()
      .describe('The machines (addresses or ~/.ssh/config aliases); each is leased while the run uses it'),
    pool: NAME.optional().describe(
      "A named pool ('benchyard pool add'): its active members, read while the run goes; `ssh:` gives their login",
    ),
    ssh: sshLogin.default(DEFAULT_SSH_LOGIN),
  })
  .superRefine((t, ctx) => {
    if (t.hosts !== undefined && t.pool !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['pool'],
        message: "give either 'hosts' (a fixed list of machines) or 'pool' (a named pool), not both",
      });
    else if (t.hosts === undefined && t.pool === undefined)
      ctx.addIssue({
        code: 'custom',
        path: [],
        message:
          "an ssh target needs 'hosts' (a list of machines) or 'pool' (a pool name from 'benchyard pool add')",
      });
  });

type Parsed = z.output<typeof sshHostsTarget>;

/** One entry of `hosts:`. */
export type SshHostEntry = NonNullable<Parsed['hosts']>[number];

/** Validated options of an ssh target: exactly one of `hosts` and `pool`. */
export type SshHostsTargetOptions = Omit<Parsed, 'hosts' | 'pool'> &
  ({ hosts: SshHostEntry[]; pool?: undefined } | { pool: string; hosts?: undefined });

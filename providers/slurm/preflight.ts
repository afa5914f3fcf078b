/**
 * `doctor` for a slurm target, submitting nothing: the login answers, the partition has
 * nodes, Slurm would take the holder job as the target asks for it (`sbatch --test-only`
 * checks partition, account, QOS, GRES and features), and a node's Docker engine answers
 * over SSH.
 */
import {
  errorMessage,
  type PreflightCheck,
  type ProviderContext,
  type TargetSpec,
} from '../../src/core/index.js';
import type { SlurmTargetOptions } from '../../src/config/targets/slurm.js';
import { holderName } from './identity.js';
import { holderRequest } from './request.js';
import { nodeEndpoint, type Logins } from './login.js';
import { nodeFits } from './nodes.js';

export async function slurmPreflight(
  ctx: ProviderContext,
  logins: Logins,
  target: TargetSpec,
  signal: AbortSignal,
): Promise<PreflightCheck[]> {
  const options = target.options as SlurmTargetOptions;
  const checks: PreflightCheck[] = [];
  let login;
  try {
    login = await logins.take(options, signal);
  } catch (err) {
    return [{ check: 'slurm login', status: 'fail', detail: errorMessage(err) }];
  }
  try {
    checks.push({ check: 'slurm login', status: 'ok', detail: login.cluster.where });
    let nodes;
    try {
      nodes = (await login.cluster.nodes(options.partition, signal)).filter((n) => nodeFits(n, options));
      checks.push({
        check: `partition ${options.partition}`,
        status: nodes.length ? 'ok' : 'fail',
        detail: nodes.length
          ? nodes
              .map(
                (n) =>
                  `${n.name} ${n.state} (${n.cpus} CPUs${n.gres.length ? `, ${n.gres.map((g) => `${g.name}${g.type ? `:${g.type}` : ''}:${g.count}`).join(',')}` : ''})`,
              )
              .join('; ')
          : 'no node of the partition fits the target (constraint, exclude) or takes jobs',
      });
    } catch (err) {
      checks.push({ check: `partition ${options.partition}`, status: 'fail', detail: errorMessage(err) });
      return checks;
    }
    const test = await login.cluster.testOnly(
      holderRequest(target, {
        name: holderName('doctor'),
        comment: 'benchyard doctor (--test-only: nothing is queued)',
      }),
      signal,
    );
    checks.push({ check: 'slurm request', status: test.ok ? 'ok' : 'fail', detail: test.said });
    const node = nodes[0];
    if (!node) return checks;
    const address = options.nodeAddress === 'name' || !node.address ? node.name : node.address;
    try {
      const endpoint = {
        ...nodeEndpoint(address, node.name, options.ssh, ctx.sshAgentSocket),
        readyTimeoutMs: 20_000,
      };
      const session = await ctx.connector.connect(endpoint, signal);
      try {
        const v = (await session.docker.version()) as { Version?: string };
        checks.push({
          check: `docker on ${node.name}`,
          status: 'ok',
          detail: `Docker ${v.Version ?? '?'} at ${endpoint.dockerSocket}`,
        });
      } finally {
        await session.close();
      }
    } catch (err) {
      // Where nodes take SSH only from users with a job there (pam_slurm_adopt), this says so.
      checks.push({ check: `docker on ${node.name}`, status: 'fail', detail: errorMessage(err) });
    }
    return checks;
  } finally {
    await logins.letGo(login);
  }
}

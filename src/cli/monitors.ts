/**
 * Which metrics a machine gets: the collectors in this process where it can read the
 * machine's cgroups (this machine), else the agent on the machine (its own container on a
 * Docker engine; on other engines, what their `startAgent` starts, from the run's
 * registry); the host collector and the GPU source as the matrix's `metrics:` block says.
 */
import type Docker from 'dockerode';
import {
  InfrastructureError,
  ownerLabels,
  type AgentChannel,
  type Engine,
  type Logger,
  type Machine,
  type MetricSink,
  type MetricsPolicy,
} from '../core/index.js';
import { agentLaunch, AgentMonitor, type AgentStart } from '../agent/agent-monitor.js';
import { dockerAgent } from '../agent/docker-channel.js';
import { ensureAgentImage } from '../agent/image.js';
import { dockerOf } from '../engine/index.js';
import { pushImage, registryDigestRef } from '../images/index.js';
import { NvidiaSmiSource } from '../metrics/gpu/index.js';
import { HostCollector } from '../metrics/host-collector.js';
import { machineHealth, MachineMonitor, type Monitor } from '../metrics/index.js';
import { AGENT_FILES } from './paths.js';

export interface MachineMonitorOptions {
  intervalMs: number;
  policy: MetricsPolicy;
  session: string;
  logger: Logger;
  /** The controller's Docker engine: the agent image is built there. */
  imageSource?: Docker;
  /** The run's registry (`images.registry`): pushed to from here, pulled from at the target's address. */
  registry?: { push: string; pull: string };
}

export function machineMonitor(machine: Machine, sink: MetricSink, m: MachineMonitorOptions): Monitor {
  const { intervalMs, policy, logger } = m;
  const agent = { host: machine.hostname, intervalMs, policy, sink, logger };
  const labels = ownerLabels(m.session, machine.id);
  const docker = dockerOf(machine.engine);
  if (docker && (policy.collector === 'agent' || !machine.localCgroups))
    return new AgentMonitor({
      ...agent,
      open: dockerAgent(docker, {
        files: AGENT_FILES,
        host: machine.hostname,
        labels,
        // Remote machines get the agent image from the controller's engine.
        ...(machine.ssh && m.imageSource ? { imageSource: m.imageSource } : {}),
        logger,
      }),
    });
  if (machine.engine.startAgent) {
    const { imageSource, registry } = m;
    if (!imageSource || !registry)
      throw new InfrastructureError(
        `the metrics agent of ${machine.id} (a ${machine.engine.kind} engine) is pulled from the run's registry: the matrix needs 'images.registry' for such targets`,
        { machine: machine.id },
      );
    return new AgentMonitor({
      ...agent,
      open: registryAgent(machine.engine, { imageSource, registry, host: machine.hostname, labels, logger }),
    });
  }
  return new MachineMonitor({
    host: machine.hostname,
    intervalMs,
    output: sink,
    quiet: policy.quiet,
    collectors: policy.host ? [new HostCollector({ logger })] : [],
    sources: policy.gpu ? [new NvidiaSmiSource({ intervalMs, logger })] : [],
    // Before and after each repetition: GPU counters, CPU thermal throttling, XID errors.
    health: machineHealth({ host: machine.hostname, gpu: policy.gpu, logger }),
    logger,
  });
}

/** The agent image built on the controller's engine, pushed to the run's registry, started by digest by the engine. */
function registryAgent(
  engine: Engine,
  o: {
    imageSource: Docker;
    registry: { push: string; pull: string };
    host: string;
    labels: Readonly<Record<string, string>>;
    logger: Logger;
  },
): (start: AgentStart) => Promise<AgentChannel> {
  return async (start) => {
    const image = await registryAgentImage(o.imageSource, o.registry, {
      logger: o.logger,
      signal: start.signal,
    });
    return engine.startAgent!(agentLaunch(image, start, o), start.signal);
  };
}

/**
 * The agent image (built on `imageSource` where it lacks it) pushed to the registry: its
 * reference by digest as the machines reach the registry (`pull`). `doctor` has nodes pull it.
 */
export async function registryAgentImage(
  imageSource: Docker,
  registry: { push: string; pull: string },
  opts: { logger: Logger; signal: AbortSignal },
): Promise<string> {
  const local = await ensureAgentImage(imageSource, AGENT_FILES, opts);
  const pushed = await pushImage(imageSource, local, registry.push, opts);
  return registryDigestRef(registry.pull, pushed.repo, pushed.digest);
}

/**
 * Which metrics a machine gets: the collectors in this process where it can read the
 * machine's cgroups (this machine), else the agent container on the machine; the host
 * collector and the GPU source as the matrix's `metrics:` block says.
 */
import type Docker from 'dockerode';
import type { Logger, Machine, MetricSink, MetricsPolicy } from '../core/index.js';
import { AgentMonitor } from '../agent/agent-monitor.js';
import { NvidiaSmiSource } from '../metrics/gpu/index.js';
import { HostCollector } from '../metrics/host-collector.js';
import { machineHealth, MachineMonitor, type Monitor } from '../metrics/index.js';
import { ownerLabels } from '../core/index.js';
import { dockerOf } from '../engine/index.js';
import { AGENT_FILES } from './paths.js';

export function machineMonitor(
  machine: Machine,
  sink: MetricSink,
  m: { intervalMs: number; policy: MetricsPolicy; session: string; logger: Logger; imageSource?: Docker },
): Monitor {
  const { intervalMs, policy, logger } = m;
  const docker = dockerOf(machine.engine);
  if (docker && (policy.collector === 'agent' || !machine.localCgroups))
    return new AgentMonitor({
      docker,
      files: AGENT_FILES,
      host: machine.hostname,
      intervalMs,
      policy,
      sink,
      labels: ownerLabels(m.session, machine.id),
      // Remote machines get the agent image from the controller's engine.
      ...(machine.ssh && m.imageSource ? { imageSource: m.imageSource } : {}),
      logger,
    });
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

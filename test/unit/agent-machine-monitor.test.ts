// Which metrics a machine gets (src/cli/monitors.ts), for engines that start their own agent.
import Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import { AgentMonitor } from '../../src/agent/agent-monitor.js';
import { machineMonitor } from '../../src/cli/monitors.js';
import {
  DEFAULT_METRICS_POLICY,
  InfrastructureError,
  silentLogger,
  type Engine,
  type Machine,
} from '../../src/core/index.js';
import { MachineMonitor } from '../../src/metrics/index.js';

const sink = { write: () => {}, flush: async () => {}, close: async () => {} };
const opts = { intervalMs: 1000, policy: DEFAULT_METRICS_POLICY, session: 's1', logger: silentLogger };
// Never called: machineMonitor only decides; the engines are reached in `start`.
const imageSource = new Docker({ socketPath: '/nonexistent/docker.sock' });

function machine(engine: Partial<Engine>): Machine {
  return {
    id: 'k8s/node-1',
    provider: 'kubernetes',
    instanceType: 'node',
    hostname: 'node-1',
    engine: { kind: 'kubernetes', ...engine } as Engine,
    localCgroups: false,
  };
}

describe('machineMonitor', () => {
  const startAgent = () => Promise.reject(new Error('not started in this test'));

  it("runs the agent through an engine's startAgent when the run has a registry", () => {
    const m = machineMonitor(machine({ startAgent }), sink, {
      ...opts,
      imageSource,
      registry: { push: '127.0.0.1:5000', pull: '10.0.0.1:5000' },
    });
    expect(m).toBeInstanceOf(AgentMonitor);
  });

  it('asks for images.registry where such an engine has no registry to pull the agent from', () => {
    const make = (o: object) => () => machineMonitor(machine({ startAgent }), sink, { ...opts, ...o });
    expect(make({ imageSource })).toThrow(InfrastructureError);
    expect(make({ imageSource })).toThrow("the matrix needs 'images.registry'");
    expect(make({ registry: { push: 'r:5000', pull: 'r:5000' } })).toThrow("'images.registry'");
  });

  it('samples in this process on an engine without an agent of its own', () => {
    expect(machineMonitor(machine({}), sink, { ...opts, imageSource })).toBeInstanceOf(MachineMonitor);
  });
});

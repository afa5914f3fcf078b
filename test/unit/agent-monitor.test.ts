// The controller's side of the agent protocol (src/agent/protocol.ts) over a fake channel:
// an in-process agent that answers as src/agent/main.ts does, or stays silent, or exits.
import { describe, expect, it, vi } from 'vitest';
import { AgentMonitor, type AgentStart } from '../../src/agent/agent-monitor.js';
import { PROTOCOL_VERSION, type Command, type Reply } from '../../src/agent/protocol.js';
import {
  DEFAULT_METRICS_POLICY,
  InfrastructureError,
  type AgentChannel,
  type Logger,
  type MetricSample,
  type MetricsSummary,
} from '../../src/core/index.js';
import { ManualClock } from '../helpers/manual-clock.js';

interface FakeAgentOptions {
  version?: number;
  /** Commands it reads but never answers (a hung agent). */
  silentOn?: readonly Command['op'][];
  summary?: MetricsSummary;
}

/** An agent behind a channel: output flows once `onOutput` is set, in chunks that split lines. */
class FakeAgent implements AgentChannel {
  readonly commands: Command[] = [];
  closes = 0;
  readonly closed: Promise<void>;
  private exited!: () => void;
  private out: ((chunk: Buffer) => void) | undefined;
  private readonly held: string[] = [];

  constructor(private readonly o: FakeAgentOptions = {}) {
    this.closed = new Promise((resolve) => (this.exited = resolve));
    // Its first line, written before anyone reads: the channel holds it.
    this.reply({ t: 'ready', version: o.version ?? PROTOCOL_VERSION, node: 'v22.0.0' });
  }

  write(text: string): void {
    for (const line of text.split('\n').filter(Boolean)) {
      const cmd = JSON.parse(line) as Command;
      this.commands.push(cmd);
      if (!this.o.silentOn?.includes(cmd.op)) this.answer(cmd);
    }
  }

  onOutput(stdout: (chunk: Buffer) => void): void {
    this.out = stdout;
    for (const text of this.held.splice(0)) this.emit(text);
  }

  exit(): void {
    this.exited();
  }

  async close(): Promise<void> {
    this.closes++;
    this.exit();
    await this.closed;
  }

  reply(r: Reply): void {
    const text = `${JSON.stringify(r)}\n`;
    if (this.out) this.emit(text);
    else this.held.push(text);
  }

  private emit(text: string): void {
    const half = Math.floor(text.length / 2);
    const out = this.out!;
    queueMicrotask(() => {
      out(Buffer.from(text.slice(0, half)));
      out(Buffer.from(text.slice(half)));
    });
  }

  private answer(cmd: Command): void {
    if (cmd.op === 'finish') {
      this.reply({ t: 'samples', samples: [sample(cmd.id)] });
      this.reply({ t: 'summary', id: cmd.id, summary: this.o.summary ?? { samples: 1 } });
    } else if (cmd.op === 'quiesce') this.reply({ t: 'quiesced', ok: true });
    else if (cmd.op === 'stop') this.reply({ t: 'stopped' });
  }
}

function sample(containerId: string): MetricSample {
  return {
    runId: 'r1',
    cellId: 'c',
    repetition: 1,
    host: 'node-1',
    scope: 'container',
    containerId,
    name: 'container.cpu.usage.cores',
    unit: 'cores',
    value: 1.5,
    timestamp: 1_700_000_000_500,
    seq: 0,
  };
}

function setup(agent: FakeAgent, policy = { ...DEFAULT_METRICS_POLICY, gpu: false }) {
  const clock = new ManualClock();
  const warnings: string[] = [];
  const logger: Logger = { debug: () => {}, info: () => {}, warn: (m) => warnings.push(m), error: () => {} };
  const out: MetricSample[] = [];
  const starts: AgentStart[] = [];
  const monitor = new AgentMonitor({
    open: (start) => {
      starts.push(start);
      return Promise.resolve(agent);
    },
    host: 'node-1',
    intervalMs: 500,
    policy,
    sink: { write: (s) => out.push(...s), flush: async () => {}, close: async () => {} },
    clock,
    logger,
  });
  return { monitor, clock, warnings, out, starts };
}

const ctx = { runId: 'r1', cellId: 'c', repetition: 1 };

describe('AgentMonitor', () => {
  it('starts the agent with the policy as arguments and says start once it is ready', async () => {
    const agent = new FakeAgent();
    const { monitor, starts } = setup(agent, { ...DEFAULT_METRICS_POLICY, quiet: true, host: false });
    await monitor.start('r1');
    expect(starts.map((s) => [s.runId, s.args])).toEqual([
      ['r1', ['--interval', '500', '--host', 'node-1', '--quiet', '--no-host']],
    ]);
    expect(agent.commands).toEqual([{ op: 'start', runId: 'r1' }]);
    await monitor.stop();
    expect(agent.commands.at(-1)).toEqual({ op: 'stop' });
    expect(agent.closes).toBe(1);
  });

  it('refuses an agent that speaks another protocol version and closes it', async () => {
    const agent = new FakeAgent({ version: PROTOCOL_VERSION - 1 });
    const { monitor } = setup(agent);
    const started = monitor.start('r1');
    await expect(started).rejects.toThrow(InfrastructureError);
    await expect(started).rejects.toThrow(`not protocol v${PROTOCOL_VERSION}`);
    expect(agent.commands).toEqual([]);
    expect(agent.closes).toBe(1);
  });

  it('closes an agent that does not say it is ready in time', async () => {
    const agent = new FakeAgent();
    // Its output never reaches the monitor: a channel that connected to nothing.
    agent.onOutput = () => {};
    const { monitor, clock } = setup(agent);
    const started = monitor.start('r1');
    await vi.waitFor(() => expect(agent.commands).toEqual([]));
    clock.advance(60_000);
    await expect(started).rejects.toThrow('the agent did not start within 60s on node-1');
    expect(agent.closes).toBe(1);
  });

  it('watches a container and hands its batches and summary over; app lines are stamped here', async () => {
    const agent = new FakeAgent({ summary: { samples: 7, cpuCoresMean: 1.5 } });
    const { monitor, out } = setup(agent);
    await monitor.start('r1');
    const watch = monitor.watch(ctx, { id: 'c1', pid: 0 });
    expect(agent.commands.at(-1)).toEqual({ op: 'watch', ctx, id: 'c1', pid: 0 });
    watch.line('@benchyard metric=phase value=3');
    expect(await watch.finish()).toEqual({ samples: 7, cpuCoresMean: 1.5 });
    expect(agent.commands.at(-1)).toEqual({ op: 'finish', id: 'c1' });
    expect(out.map((s) => [s.scope, s.name, s.value, s.host, s.cellId])).toEqual([
      ['app', 'phase', 3, 'node-1', 'c'],
      ['container', 'container.cpu.usage.cores', 1.5, 'node-1', 'c'],
    ]);
    await monitor.stop();
  });

  it('resolves a pending finish with no summary and a warning when the agent exits', async () => {
    const agent = new FakeAgent({ silentOn: ['finish'] });
    const { monitor, warnings } = setup(agent);
    await monitor.start('r1');
    const pending = monitor.watch(ctx, { id: 'c1', pid: 1234 }).finish();
    await vi.waitFor(() => expect(agent.commands.at(-1)).toEqual({ op: 'finish', id: 'c1' }));
    agent.exit();
    expect(await pending).toEqual({ samples: 0 });
    expect(warnings).toEqual(['metrics agent on node-1: the agent exited']);
    // Later repetitions get no summary at once, and nothing is asked of the gone agent.
    expect(await monitor.watch(ctx, { id: 'c2', pid: 1 }).finish()).toEqual({ samples: 0 });
    expect(await monitor.quiesce()).toBeUndefined();
    await monitor.stop();
    expect(agent.commands.map((c) => c.op)).not.toContain('stop');
    expect(agent.closes).toBe(1);
  });

  it('closes the agent in stop even when it does not answer', async () => {
    const agent = new FakeAgent({ silentOn: ['stop'] });
    const { monitor, clock, warnings } = setup(agent);
    await monitor.start('r1');
    let stopped = false;
    const stopping = monitor.stop().then(() => (stopped = true));
    await vi.waitFor(() => expect(agent.commands.at(-1)).toEqual({ op: 'stop' }));
    clock.advance(29_999);
    await Promise.resolve();
    expect(stopped).toBe(false);
    clock.advance(1);
    await stopping;
    expect(agent.closes).toBe(1);
    expect(warnings.join('\n')).toContain('the agent did not stop within 30s on node-1');
  });

  it('answers quiesce with a resume that is sent once', async () => {
    const agent = new FakeAgent();
    const { monitor } = setup(agent);
    await monitor.start('r1');
    const resume = await monitor.quiesce();
    expect(resume).toBeTypeOf('function');
    resume!();
    resume!();
    expect(agent.commands.map((c) => c.op)).toEqual(['start', 'quiesce', 'resume']);
    await monitor.stop();
  });
});

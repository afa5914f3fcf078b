/**
 * The controller's side of the agent: talks to it over a line channel (the attach stream of
 * the machine's Docker engine, a pod's attach websocket; see `AgentChannel`) and writes the
 * batches it hands back to the sink. How the agent is started is `open`'s business
 * (docker-channel.ts, an engine's `startAgent`). Lines benchmarks print reach the
 * controller anyway, so `app` samples are stamped here.
 *
 * The agent is closed (removed) in `stop`, whatever happens; it also exits by itself when
 * its stdin closes.
 */
import {
  InfrastructureError,
  LABELS,
  silentLogger,
  systemClock,
  type AgentChannel,
  type AgentLaunch,
  type Clock,
  type Logger,
  type MetricSink,
  type MetricsPolicy,
  type MetricsSummary,
} from '../core/index.js';
import {
  parseAppLine,
  Stamper,
  type ContainerWatch,
  type Monitor,
  type SampleContext,
} from '../metrics/index.js';
import { lineReader, PROTOCOL_VERSION, type Command, type Reply } from './protocol.js';

/** What `open` is asked to start: the agent's arguments, for which run. */
export interface AgentStart {
  args: readonly string[];
  runId: string;
  /** Aborted when starting (image included) takes too long. */
  signal: AbortSignal;
}

export interface AgentMonitorOptions {
  /** Starts the agent on the machine and answers its channel. */
  open: (start: AgentStart) => Promise<AgentChannel>;
  host: string;
  intervalMs: number;
  policy: MetricsPolicy;
  sink: MetricSink;
  /**
   * How long the agent has to say it is ready (default 60 s), and starting it, image
   * included, to answer (default 600 s).
   */
  readyTimeoutMs?: number;
  clock?: Clock;
  logger?: Logger;
}

/** The agent's name and labels, whatever engine runs it: found and removed like every container benchyard makes. */
export function agentLaunch(
  image: string,
  start: AgentStart,
  o: { host: string; labels: Readonly<Record<string, string>> },
): AgentLaunch {
  return {
    image,
    args: start.args,
    name: `benchyard-agent-${start.runId}-${o.host}`.replace(/[^a-zA-Z0-9_.-]/g, '-'),
    labels: {
      ...o.labels,
      [LABELS.managed]: 'true',
      [LABELS.run]: start.runId,
      'io.benchyard.role': 'agent',
    },
  };
}

export class AgentMonitor implements Monitor {
  private channel: AgentChannel | undefined;
  private readonly waiters: { match: (r: Reply) => boolean; resolve: (r: Reply) => void }[] = [];
  private readonly stamper: Stamper;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private failure: string | undefined;

  constructor(private readonly o: AgentMonitorOptions) {
    this.logger = o.logger ?? silentLogger;
    this.clock = o.clock ?? systemClock;
    this.stamper = new Stamper(o.host);
  }

  async start(runId: string): Promise<void> {
    const args = ['--interval', String(this.o.intervalMs), '--host', this.o.host];
    if (this.o.policy.quiet) args.push('--quiet');
    if (!this.o.policy.host) args.push('--no-host');
    if (!this.o.policy.gpu) args.push('--no-gpu');
    const channel = await this.o.open({
      args,
      runId,
      signal: AbortSignal.timeout(this.o.readyTimeoutMs ?? 600_000),
    });
    this.channel = channel;
    try {
      // Before its output flows: the first line is the agent's `ready`.
      const ready = this.next((r) => r.t === 'ready');
      channel.onOutput(
        lineReader<Reply>(
          (r) => this.onReply(r),
          (bad) => this.logger.debug(`agent: ${bad}`),
        ),
        (c: Buffer) => this.logger.debug(`agent on ${this.o.host}: ${c.toString().trimEnd()}`),
      );
      void channel.closed.then(() => {
        this.failure ??= 'the agent exited';
        for (const w of this.waiters.splice(0)) w.resolve({ t: 'error', message: this.failure });
      });
      const hello = await this.within(ready, this.o.readyTimeoutMs ?? 60_000, 'the agent did not start');
      if (hello.t !== 'ready' || hello.version !== PROTOCOL_VERSION)
        throw new InfrastructureError(
          `the agent on ${this.o.host} speaks ${JSON.stringify(hello)}, not protocol v${PROTOCOL_VERSION}`,
        );
      this.send({ op: 'start', runId });
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  watch(ctx: SampleContext, container: { id: string; pid: number }): ContainerWatch {
    this.send({ op: 'watch', ctx, id: container.id, pid: container.pid });
    return {
      line: (text) => {
        const r = parseAppLine(text, this.clock.now(), container.id);
        if (r) this.o.sink.write([this.stamper.stamp(r, ctx)]);
      },
      lines: (texts) => {
        const at = this.clock.now();
        const samples = texts.flatMap((t) => {
          const r = parseAppLine(t, at, container.id);
          return r ? [this.stamper.stamp(r, ctx)] : [];
        });
        if (samples.length > 0) this.o.sink.write(samples);
      },
      finish: async (): Promise<MetricsSummary> => {
        const reply = this.next((r) => (r.t === 'summary' && r.id === container.id) || r.t === 'error');
        this.send({ op: 'finish', id: container.id });
        const r = await this.within(reply, 30_000, 'the agent did not answer');
        this.stamper.forget(ctx);
        if (r.t !== 'summary') {
          this.logger.warn(`metrics agent on ${this.o.host}: ${r.t === 'error' ? r.message : 'no summary'}`);
          return { samples: 0 };
        }
        return r.summary;
      },
    };
  }

  /** Asks the agent to stop sampling until the returned function resumes it (a control repetition). */
  async quiesce(): Promise<(() => void) | undefined> {
    if (!this.channel || this.failure) return undefined;
    const reply = this.next((r) => r.t === 'quiesced' || r.t === 'error');
    this.send({ op: 'quiesce' });
    const r = await this.within(reply, 30_000, 'the agent did not answer').catch((err: unknown) => {
      this.logger.warn(String(err));
      return undefined;
    });
    if (r?.t !== 'quiesced' || !r.ok) return undefined;
    let resumed = false;
    return () => {
      if (resumed) return;
      resumed = true;
      this.send({ op: 'resume' });
    };
  }

  /** Asks the agent to hand over what it holds and stop; it is closed (removed) whatever happens. */
  async stop(): Promise<void> {
    try {
      if (this.channel && !this.failure) {
        const stopped = this.next((r) => r.t === 'stopped' || r.t === 'error');
        this.send({ op: 'stop' });
        await this.within(stopped, 30_000, 'the agent did not stop').catch((err: unknown) =>
          this.logger.warn(String(err)),
        );
      }
    } finally {
      await this.close();
    }
  }

  private onReply(r: Reply): void {
    if (r.t === 'samples') this.o.sink.write(r.samples);
    else if (r.t === 'error') this.logger.warn(`metrics agent on ${this.o.host}: ${r.message}`);
    const i = this.waiters.findIndex((w) => w.match(r));
    if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve(r);
  }

  /** The next reply that matches; an agent that exited answers nothing more, so `error` at once. */
  private next(match: (r: Reply) => boolean): Promise<Reply> {
    if (this.failure !== undefined) return Promise.resolve({ t: 'error', message: this.failure });
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }

  private async within(p: Promise<Reply>, ms: number, what: string): Promise<Reply> {
    const timer = new AbortController();
    try {
      return await Promise.race([
        p,
        this.clock.sleep(ms, timer.signal).then(
          () => {
            throw new InfrastructureError(`${what} within ${ms / 1000}s on ${this.o.host}`);
          },
          () => new Promise<never>(() => {}), // cancelled: the answer came first
        ),
      ]);
    } finally {
      timer.abort();
    }
  }

  private send(cmd: Command): void {
    this.channel?.write(`${JSON.stringify(cmd)}\n`);
  }

  private async close(): Promise<void> {
    const c = this.channel;
    this.channel = undefined;
    await c?.close();
  }
}

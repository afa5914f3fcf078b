/**
 * The controller's side of the agent: starts the agent container on the machine, talks to
 * it over the attach stream of the machine's Docker engine (the connection the controller
 * already holds), and writes the batches it hands back to the sink. Lines benchmarks
 * print reach the controller anyway, so `app` samples are stamped here.
 *
 * The container is labelled like every container benchyard makes and removed in `stop`,
 * whatever happens; the agent also exits by itself when its stdin closes.
 */
import type Docker from 'dockerode';
import { PassThrough } from 'node:stream';
import {
  InfrastructureError,
  LABELS,
  silentLogger,
  systemClock,
  type Clock,
  type Logger,
  type MetricSink,
  type MetricsPolicy,
  type MetricsSummary,
} from '../core/index.js';
import { dockerFailure } from '../engine/index.js';
import {
  parseAppLine,
  Stamper,
  type ContainerWatch,
  type Monitor,
  type SampleContext,
} from '../metrics/index.js';
import { ensureAgentImage, type AgentFiles } from './image.js';
import { shipImage } from '../engine/index.js';
import { lineReader, PROTOCOL_VERSION, type Command, type Reply } from './protocol.js';

export interface AgentMonitorOptions {
  docker: Docker;
  files: AgentFiles;
  host: string;
  intervalMs: number;
  policy: MetricsPolicy;
  sink: MetricSink;
  /** Labels for the agent container (session, expiry). */
  labels: Readonly<Record<string, string>>;
  /**
   * The controller's Docker engine: where given, the agent image is built there and shipped
   * to the machine (remote machines often cannot pull or build from the internet).
   */
  imageSource?: Docker;
  /** @default 60_000 */
  readyTimeoutMs?: number;
  clock?: Clock;
  logger?: Logger;
}

export class AgentMonitor implements Monitor {
  private container: Docker.Container | undefined;
  private stdin: NodeJS.WritableStream | undefined;
  private readonly waiters: { match: (r: Reply) => boolean; resolve: (r: Reply) => void }[] = [];
  private readonly stamper: Stamper;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private exited: Promise<unknown> = Promise.resolve();
  private failure: string | undefined;

  constructor(private readonly o: AgentMonitorOptions) {
    this.logger = o.logger ?? silentLogger;
    this.clock = o.clock ?? systemClock;
    this.stamper = new Stamper(o.host);
  }

  async start(runId: string): Promise<void> {
    const { docker } = this.o;
    const signal = AbortSignal.timeout(this.o.readyTimeoutMs ?? 600_000);
    const source = this.o.imageSource;
    const image = await ensureAgentImage(source ?? docker, this.o.files, { logger: this.logger, signal });
    if (source) await shipImage(source, docker, image, this.o.host, { signal });
    const args = ['--interval', String(this.o.intervalMs), '--host', this.o.host];
    if (this.o.policy.quiet) args.push('--quiet');
    if (!this.o.policy.host) args.push('--no-host');
    if (!this.o.policy.gpu) args.push('--no-gpu');
    try {
      this.container = await docker.createContainer({
        Image: image,
        Cmd: args,
        name: `benchyard-agent-${runId}-${this.o.host}`.replace(/[^a-zA-Z0-9_.-]/g, '-'),
        Labels: {
          ...this.o.labels,
          [LABELS.managed]: 'true',
          [LABELS.run]: runId,
          'io.benchyard.role': 'agent',
        },
        OpenStdin: true,
        StdinOnce: true,
        AttachStdin: true,
        AttachStdout: true,
        AttachStderr: true,
        HostConfig: {
          NetworkMode: 'host',
          CgroupnsMode: 'host',
          Binds: ['/proc:/host/proc:ro', '/sys:/host/sys:ro'],
          Memory: 256 * 1024 * 1024,
        },
      } as Docker.ContainerCreateOptions);
      const stream = (await this.container.attach({
        stream: true,
        stdin: true,
        stdout: true,
        stderr: true,
        hijack: true,
      })) as NodeJS.ReadWriteStream;
      this.stdin = stream;
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      docker.modem.demuxStream(stream, stdout, stderr);
      stdout.on(
        'data',
        lineReader<Reply>(
          (r) => this.onReply(r),
          (bad) => this.logger.debug(`agent: ${bad}`),
        ),
      );
      stderr.on('data', (c: Buffer) =>
        this.logger.debug(`agent on ${this.o.host}: ${c.toString().trimEnd()}`),
      );
      this.exited = this.container.wait({ condition: 'next-exit' }).catch(() => undefined);
      void this.exited.then(() => {
        this.failure ??= 'the agent exited';
        for (const w of this.waiters.splice(0)) w.resolve({ t: 'error', message: this.failure });
      });
      const ready = this.next((r) => r.t === 'ready');
      await this.container.start();
      const hello = await this.within(ready, this.o.readyTimeoutMs ?? 60_000, 'the agent did not start');
      if (hello.t !== 'ready' || hello.version !== PROTOCOL_VERSION)
        throw new InfrastructureError(
          `the agent on ${this.o.host} speaks ${JSON.stringify(hello)}, not protocol v${PROTOCOL_VERSION}`,
        );
      this.send({ op: 'start', runId });
    } catch (err) {
      await this.remove();
      if (err instanceof InfrastructureError) throw err;
      throw dockerFailure(`starting the metrics agent on ${this.o.host}`, err);
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
    if (!this.container || this.failure) return undefined;
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

  /** Asks the agent to hand over what it holds and stop; the container is removed whatever happens. */
  async stop(): Promise<void> {
    try {
      if (this.container && !this.failure) {
        const stopped = this.next((r) => r.t === 'stopped' || r.t === 'error');
        this.send({ op: 'stop' });
        await this.within(stopped, 30_000, 'the agent did not stop').catch((err: unknown) =>
          this.logger.warn(String(err)),
        );
      }
    } finally {
      await this.remove();
    }
  }

  private onReply(r: Reply): void {
    if (r.t === 'samples') this.o.sink.write(r.samples);
    else if (r.t === 'error') this.logger.warn(`metrics agent on ${this.o.host}: ${r.message}`);
    const i = this.waiters.findIndex((w) => w.match(r));
    if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve(r);
  }

  private next(match: (r: Reply) => boolean): Promise<Reply> {
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
    this.stdin?.write(`${JSON.stringify(cmd)}\n`);
  }

  private async remove(): Promise<void> {
    const c = this.container;
    this.container = undefined;
    if (!c) return;
    this.stdin?.end();
    await c.remove({ force: true }).catch(() => undefined);
    await this.exited;
  }
}

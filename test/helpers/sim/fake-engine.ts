/**
 * An `Engine` whose containers run in simulated time: what each container does (how long
 * it runs, what it prints, how it exits, whether its create or start fails) comes from a
 * `Behaviour` the test gives. `die()` makes the engine stop answering the way a machine
 * that lost power or network does: running containers' waits fail, new calls fail, ping
 * says no. The scheduler's lifecycle (`runContainer`) runs over it unchanged.
 */
import {
  InfrastructureError,
  LABELS,
  type Clock,
  type ContainerSpec,
  type ContainerState,
  type Engine,
  type EngineContainer,
  type EngineIdentity,
  type ImageInfo,
  type OutputSinks,
  type Started,
} from '../../../src/core/index.js';

/** What one container does. */
export interface FakeRun {
  /** Simulated run time. @default 1000 */
  durationMs?: number;
  exitCode?: number;
  stdout?: string;
  stderr?: string;
  /** The create call fails with this message (an INFRA failure on an engine that answers). */
  failCreate?: string;
  failStart?: string;
  /** The engine dies this long after the container started (the machine is lost). */
  dieAfterMs?: number;
}

export interface ContainerCall {
  engine: string;
  cell: string;
  repetition: number;
  spec: ContainerSpec;
  /** How many containers this engine created before this one. */
  nth: number;
}

export type Behaviour = (call: ContainerCall) => FakeRun;

/** Every container prints one score line and exits 0 after a second. */
export const scoring =
  (score: (call: ContainerCall) => number = () => 100, durationMs = 1000): Behaviour =>
  (call) => ({ durationMs, stdout: `score: ${score(call)}\n`, exitCode: 0 });

export class FakeEngine implements Engine {
  readonly kind = 'fake';
  alive = true;
  created = 0;
  removed = 0;
  running = 0;
  /** The most containers running at once. */
  peakRunning = 0;
  readonly images: Set<string>;
  /** Containers created and not removed, by id. */
  readonly containers = new Map<string, FakeContainer>();
  /** Every container this engine was asked to create, in order. */
  readonly calls: ContainerCall[] = [];
  private readonly dying = new AbortController();

  constructor(
    readonly id: string,
    readonly clock: Clock,
    private readonly behave: Behaviour,
    images: Iterable<string> = ['fake/bench:1'],
  ) {
    this.images = new Set(images);
  }

  /** The engine stops answering (power, network). */
  die(): void {
    if (!this.alive) return;
    this.alive = false;
    this.dying.abort(new InfrastructureError(`connection to ${this.id} lost`));
  }

  get dead(): AbortSignal {
    return this.dying.signal;
  }

  async ping(): Promise<boolean> {
    return this.alive;
  }

  async identity(): Promise<EngineIdentity> {
    this.answer();
    return { id: `engine-${this.id}` };
  }

  async create(spec: ContainerSpec): Promise<EngineContainer> {
    this.answer();
    const call: ContainerCall = {
      engine: this.id,
      cell: spec.labels[LABELS.cell] ?? '',
      repetition: Number(spec.labels[LABELS.repetition] ?? 0),
      spec,
      nth: this.created,
    };
    this.calls.push(call);
    const run = this.behave(call);
    if (run.failCreate) throw new InfrastructureError(`creating container: ${run.failCreate}`);
    if (!this.images.has(spec.image))
      throw new InfrastructureError(`creating container: No such image: ${spec.image} (HTTP 404)`);
    this.created++;
    const c = new FakeContainer(`${this.id}-c${this.created}`.padEnd(16, '0'), this, run, spec);
    this.containers.set(c.id, c);
    return c;
  }

  async image(ref: string): Promise<ImageInfo | undefined> {
    this.answer();
    return this.images.has(ref) ? { ref, id: ref, digest: `sha256:${ref}`, sizeBytes: 1 } : undefined;
  }

  async removeLabelled(labels: readonly string[]): Promise<number> {
    this.answer();
    let n = 0;
    for (const c of [...this.containers.values()])
      if (labels.every((l) => c.labels[l.split('=')[0]!] === l.split('=').slice(1).join('='))) {
        await c.remove();
        n++;
      }
    return n;
  }

  answer(): void {
    if (!this.alive)
      throw new InfrastructureError(`Docker engine of ${this.id} unreachable: connection lost`);
  }
}

class FakeContainer implements EngineContainer {
  private state_: ContainerState = { oomKilled: false };
  private exited: Promise<void> | undefined;
  private readonly stopped = new AbortController();
  readonly labels: Readonly<Record<string, string>>;

  constructor(
    readonly id: string,
    private readonly engine: FakeEngine,
    private readonly run: FakeRun,
    spec: ContainerSpec,
  ) {
    this.labels = spec.labels;
  }

  async start(output: OutputSinks): Promise<Started> {
    this.engine.answer();
    if (this.run.failStart) throw new InfrastructureError(`starting container: ${this.run.failStart}`);
    const { clock } = this.engine;
    const startedAt = clock.now();
    this.state_ = { oomKilled: false, startedAt };
    this.engine.running++;
    this.engine.peakRunning = Math.max(this.engine.peakRunning, this.engine.running);
    if (this.run.dieAfterMs !== undefined)
      void clock.sleep(this.run.dieAfterMs, this.stopped.signal).then(
        () => this.engine.die(),
        () => undefined,
      );
    const stop = AbortSignal.any([this.stopped.signal, this.engine.dead]);
    this.exited = clock.sleep(this.run.durationMs ?? 1000, stop).then(
      () => {
        if (this.run.stdout) output.stdout(Buffer.from(this.run.stdout));
        if (this.run.stderr) output.stderr(Buffer.from(this.run.stderr));
        this.state_ = { ...this.state_, exitCode: this.run.exitCode ?? 0, finishedAt: clock.now() };
      },
      (err: unknown) => {
        if (!this.engine.alive) throw err;
        // Killed.
        this.state_ = { ...this.state_, exitCode: 137, finishedAt: clock.now() };
      },
    );
    void this.exited.then(
      () => this.engine.running--,
      () => this.engine.running--,
    );
    return { pid: 4242, drained: this.exited.catch(() => undefined) };
  }

  async wait(): Promise<void> {
    this.engine.answer();
    await this.exited;
  }

  async kill(): Promise<void> {
    this.engine.answer();
    this.stopped.abort(new Error('killed'));
    await this.exited?.catch(() => undefined);
  }

  async state(): Promise<ContainerState> {
    this.engine.answer();
    return this.state_;
  }

  async archive(): Promise<NodeJS.ReadableStream | undefined> {
    this.engine.answer();
    return undefined;
  }

  async remove(): Promise<void> {
    this.engine.answer();
    if (!this.engine.containers.delete(this.id)) return;
    this.stopped.abort(new Error('removed'));
    this.engine.removed++;
  }
}

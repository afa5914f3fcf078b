/**
 * One benchmark pod as the engine port's container (`EngineContainer`): created with the
 * pod; `start` waits until its container runs (saying why it waits: the scheduler's
 * message, an image pull) and follows its log from the start — the log API has one stream,
 * so stdout and stderr arrive interleaved and both sinks get it; `wait` ends when the
 * container terminated, and fails (`INFRA`, retried) when the pod was deleted, evicted or
 * lost its node; `archive` copies a kept file out through the keeper container (exec +
 * tar, as `kubectl cp` does); `remove` deletes the pod and waits until it is gone.
 */
import { PassThrough, Writable } from 'node:stream';
import {
  InfrastructureError,
  errorMessage,
  type Clock,
  type ContainerState,
  type EngineContainer,
  type Logger,
  type OutputSinks,
  type Started,
} from '../../src/core/index.js';
import type { KubeApi, V1Pod } from './api.js';
import { BENCH_CONTAINER, KEEPER_CONTAINER, KEEP_DIR } from './pod-spec.js';
import { criIdOf, podFailure, startedOf, terminatedOf, waitingOf } from './pod-status.js';
import type { PodWatch } from './pod-watch.js';

export interface PodContext {
  api: KubeApi;
  watch: PodWatch;
  namespace: string;
  clock: Clock;
  logger: Logger;
  progress?: (line: string) => void;
  /** How long a pod may stay unschedulable before its repetition fails. */
  scheduleTimeoutMs: number;
  /** How long `remove` waits for the pod to be gone. */
  goneTimeoutMs?: number;
}

export class PodContainer implements EngineContainer {
  private last: V1Pod;
  private deleted = false;
  private killed = false;
  private runningAt: number | undefined;
  private endedAt: number | undefined;
  private readonly changes = new Set<() => void>();
  private readonly unfollow: () => void;

  constructor(
    private readonly ctx: PodContext,
    pod: V1Pod,
    private readonly afterExit: readonly string[],
  ) {
    this.last = pod;
    ctx.watch.seen(pod);
    this.unfollow = ctx.watch.follow(this.name, (p) => this.onChange(p));
    const now = ctx.watch.current(this.name);
    if (now) this.last = now;
  }

  get name(): string {
    return this.last.metadata!.name!;
  }

  /** The CRI container id once the kubelet reported it (the agent finds its cgroup by it), else the pod's name. */
  get id(): string {
    return criIdOf(this.last, BENCH_CONTAINER) ?? this.name;
  }

  private onChange(pod: V1Pod | undefined): void {
    if (pod) this.last = pod;
    else this.deleted = true;
    if (pod && this.runningAt === undefined && startedOf(pod, BENCH_CONTAINER))
      this.runningAt = this.ctx.clock.now();
    if (pod && this.endedAt === undefined && terminatedOf(pod, BENCH_CONTAINER))
      this.endedAt = this.ctx.clock.now();
    for (const c of [...this.changes]) c();
  }

  /** Resolves with `test`'s answer once it gives one (checked now and on every change). */
  private until<T>(test: () => T | undefined, timeoutMs?: number, onTimeout?: () => Error): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const stop = new AbortController();
      const check = () => {
        try {
          const v = test();
          if (v === undefined) return;
          this.changes.delete(check);
          stop.abort();
          resolve(v);
        } catch (err) {
          this.changes.delete(check);
          stop.abort();
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      };
      this.changes.add(check);
      if (timeoutMs !== undefined)
        this.ctx.clock.sleep(timeoutMs, stop.signal).then(
          () => {
            this.changes.delete(check);
            reject(onTimeout?.() ?? new Error('timed out'));
          },
          () => undefined,
        );
      check();
    });
  }

  private lostError(): InfrastructureError {
    const why = podFailure(this.last);
    return new InfrastructureError(
      this.deleted
        ? `pod ${this.ctx.namespace}/${this.name} was deleted from outside benchyard${why ? ` (${why})` : ''}`
        : `pod ${this.ctx.namespace}/${this.name} ended: ${why}`,
      { pod: this.name, reason: why ?? 'deleted' },
    );
  }

  /**
   * The pod's Warning events (the kubelet's and scheduler's own words: `Evicted: The node was
   * low on resource: memory`, `FailedMount: …`) added to a failure; the failure as it is where
   * the events cannot be read.
   */
  private async withEvents(err: unknown): Promise<never> {
    if (!(err instanceof InfrastructureError)) throw err;
    const events = await this.ctx.api
      .listEvents(this.ctx.namespace, `involvedObject.name=${this.name}`)
      .catch(() => []);
    const warnings = [
      ...new Set(
        events
          .filter((e) => e.type === 'Warning' && e.reason && !err.message.includes(e.message ?? '\0'))
          .map((e) => `${e.reason}: ${(e.message ?? '').replace(/\s+/g, ' ').trim()}`),
      ),
    ].slice(-3);
    if (warnings.length === 0) throw err;
    throw new InfrastructureError(`${err.message}; events: ${warnings.join('; ')}`, err.meta, { cause: err });
  }

  async start(output: OutputSinks): Promise<Started> {
    try {
      return await this.started(output);
    } catch (err) {
      return this.withEvents(err);
    }
  }

  private async started(output: OutputSinks): Promise<Started> {
    let told = '';
    await this.until(
      () => {
        if (startedOf(this.last, BENCH_CONTAINER)) return true;
        if (this.deleted || podFailure(this.last)) throw this.lostError();
        const w = waitingOf(this.last, BENCH_CONTAINER);
        if (w?.hopeless)
          throw new InfrastructureError(`pod ${this.ctx.namespace}/${this.name} cannot start: ${w.reason}`, {
            pod: this.name,
            reason: w.reason,
          });
        if (w && w.reason !== told) {
          told = w.reason;
          (this.ctx.progress ?? this.ctx.logger.info)(`kubernetes: pod ${this.name} waits: ${w.reason}`);
        }
        return undefined;
      },
      this.ctx.scheduleTimeoutMs,
      () => {
        const w = waitingOf(this.last, BENCH_CONTAINER);
        return new InfrastructureError(
          `pod ${this.ctx.namespace}/${this.name} did not start within ${Math.round(this.ctx.scheduleTimeoutMs / 1000)} s${w ? `: ${w.reason}` : ''}`,
          { pod: this.name, ...(w ? { reason: w.reason } : {}) },
        );
      },
    );
    this.runningAt ??= this.ctx.clock.now();
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        output.stdout(chunk);
        output.stderr(chunk);
        done();
      },
    });
    const log = await this.ctx.api.followLog(this.ctx.namespace, this.name, BENCH_CONTAINER, sink);
    return { pid: 0, drained: log.done.catch(() => undefined) };
  }

  async wait(): Promise<void> {
    await this.until(() => {
      if (terminatedOf(this.last, BENCH_CONTAINER)) return true;
      if (this.killed && this.deleted) return true;
      if (this.deleted || podFailure(this.last)) throw this.lostError();
      return undefined;
    }).catch((err: unknown) => this.withEvents(err));
  }

  async kill(): Promise<void> {
    this.killed = true;
    await this.ctx.api.deletePod(this.ctx.namespace, this.name, 0);
  }

  async state(): Promise<ContainerState> {
    const t = terminatedOf(this.last, BENCH_CONTAINER);
    // As observed here, in ms; where the kubelet reported start and end at once (a short
    // container), the API's own times, which are whole seconds.
    let startedAt = this.runningAt;
    let finishedAt = this.endedAt;
    if (
      t?.startedAt !== undefined &&
      t.finishedAt !== undefined &&
      (startedAt === undefined || finishedAt === undefined || finishedAt <= startedAt)
    ) {
      startedAt = t.startedAt;
      finishedAt = t.finishedAt;
    }
    return {
      ...(t ? { exitCode: t.exitCode } : {}),
      oomKilled: t?.oomKilled ?? false,
      ...(startedAt !== undefined ? { startedAt } : {}),
      ...(finishedAt !== undefined ? { finishedAt } : {}),
    };
  }

  async archive(path: string): Promise<NodeJS.ReadableStream | undefined> {
    const i = this.afterExit.indexOf(path);
    if (i < 0 || this.deleted) return undefined;
    const file = `${KEEP_DIR}/${i}.tar`;
    const probe = new PassThrough();
    probe.resume();
    const there = await this.ctx.api.exec(
      this.ctx.namespace,
      this.name,
      KEEPER_CONTAINER,
      ['test', '-s', file],
      probe,
    );
    if (there !== 0) return undefined;
    const out = new PassThrough();
    this.ctx.api
      .exec(this.ctx.namespace, this.name, KEEPER_CONTAINER, ['cat', file], out)
      .then((code) => {
        if (code !== 0)
          out.destroy(new InfrastructureError(`copying ${path} out of pod ${this.name}: cat exited ${code}`));
      })
      .catch((err: unknown) => out.destroy(err instanceof Error ? err : new Error(errorMessage(err))));
    return out;
  }

  async remove(): Promise<void> {
    try {
      this.killed = true;
      if (!this.deleted) await this.ctx.api.deletePod(this.ctx.namespace, this.name, 0);
      const timeout = this.ctx.goneTimeoutMs ?? 60_000;
      await this.until(
        () => (this.deleted ? true : undefined),
        timeout,
        () =>
          new InfrastructureError(
            `pod ${this.ctx.namespace}/${this.name} was not gone ${timeout / 1000} s after its deletion`,
          ),
      ).catch(async (err: unknown) => {
        // The watch may have missed it: ask once.
        if (await this.ctx.api.readPod(this.ctx.namespace, this.name)) throw err;
      });
    } finally {
      this.unfollow();
    }
  }
}

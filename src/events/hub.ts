/**
 * The events of one session, put together: a source per machine, one bus, the reactors
 * and the sinks. The scheduler follows a machine when it is ready and unfollows it before
 * releasing it; `close` stops the sources, lets reactors and sinks finish, in that order.
 */
import type Docker from 'dockerode';
import { dockerOf } from '../engine/index.js';
import {
  errorMessage,
  silentLogger,
  systemClock,
  type Clock,
  type Logger,
  type Machine,
} from '../core/index.js';
import { EventBus } from './bus.js';
import { DockerEventSource } from './docker-source.js';
import { fromEngineEvent } from './engine-event.js';
import type { AnnotationPort, ContainerEvent, EventSink } from './model.js';
import { attachReactor, type Reactor, type ReactorContext } from './reactor.js';
import { attachSink } from './recorder.js';
import { builtInReactors } from './reactors/built-in.js';
import type { WebhookConfig } from './reactors/webhook.js';

export interface EventHubOptions {
  /** Only containers labelled with this session are followed. */
  session: string;
  /** Where every event is recorded, by name (for log lines). */
  sinks?: Readonly<Record<string, EventSink>>;
  /** Endpoints of the built-in webhook reactor (the matrix's `events.webhooks`). */
  webhooks?: readonly WebhookConfig[];
  /** The reactors. @default builtInReactors(ctx, webhooks) */
  reactors?: (ctx: ReactorContext) => readonly Reactor[];
  annotations?: AnnotationPort;
  clock?: Clock;
  logger?: Logger;
}

type Followed = Pick<Machine, 'id' | 'hostname' | 'engine'>;

export class EventHub implements AsyncDisposable {
  readonly bus: EventBus<ContainerEvent>;
  private readonly machines = new Map<string, { docker: Docker; source: DockerEventSource }>();
  /** Machines whose engine reports its own events (`Engine.events`: pods). */
  private readonly others = new Map<string, { close(): void; kind: string }>();
  private readonly starting = new Set<string>();
  private readonly reactors: readonly Reactor[];
  private readonly logger: Logger;
  private closed = false;

  constructor(private readonly o: EventHubOptions) {
    this.logger = o.logger ?? silentLogger;
    this.bus = new EventBus({
      logger: this.logger,
      describe: (e) => `${e.action} of container ${e.containerId.slice(0, 12)} on ${e.machineId}`,
    });
    const ctx: ReactorContext = {
      dockerFor: (id) => this.machines.get(id)?.docker,
      otherEngine: (id) => this.others.get(id)?.kind,
      clock: o.clock ?? systemClock,
      logger: this.logger,
    };
    this.reactors = o.reactors ? o.reactors(ctx) : builtInReactors(ctx, o.webhooks);
    for (const [name, sink] of Object.entries(o.sinks ?? {})) attachSink(this.bus, name, sink);
    for (const reactor of this.reactors)
      attachReactor(this.bus, reactor, {
        logger: this.logger,
        ...(o.annotations ? { annotations: o.annotations } : {}),
      });
  }

  /** Follows the machine's engine (once per machine); rejects when the engine does not answer. */
  async follow(machine: Followed): Promise<void> {
    if (this.closed || this.machines.has(machine.id) || this.starting.has(machine.id)) return;
    this.starting.add(machine.id);
    try {
      await this.start(machine);
    } finally {
      this.starting.delete(machine.id);
    }
  }

  private async start(machine: Followed): Promise<void> {
    // Docker's events come from its /events stream; other engines report through their adapters.
    const docker = dockerOf(machine.engine);
    if (!docker) {
      const sub = machine.engine.events?.((e) =>
        this.bus.publish(fromEngineEvent(e, machine.id, machine.hostname)),
      );
      if (sub) this.others.set(machine.id, { close: () => sub.close(), kind: machine.engine.kind });
      return;
    }
    const source = await DockerEventSource.start({
      docker,
      machineId: machine.id,
      host: machine.hostname,
      session: this.o.session,
      publish: (e) => this.bus.publish(e),
      ...(this.o.clock ? { clock: this.o.clock } : {}),
      logger: this.logger,
    });
    if (this.closed) return source.close();
    this.machines.set(machine.id, { docker, source });
  }

  /** Stops following the machine once the reactors are done with its events (before it is released). */
  async unfollow(machineId: string): Promise<void> {
    const other = this.others.get(machineId);
    if (other) {
      other.close();
      this.others.delete(machineId);
      await this.bus.drain();
    }
    const followed = this.machines.get(machineId);
    if (!followed) return;
    await followed.source.close();
    await this.bus.drain();
    this.machines.delete(machineId);
  }

  /** Resolves once every event received so far went through every reactor and sink. */
  async drain(): Promise<void> {
    await this.bus.drain();
  }

  /** Stops the sources, lets reactors finish (webhooks get their grace), flushes the sinks. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const id of [...this.machines.keys(), ...this.others.keys()]) await this.unfollow(id);
    await this.bus.drain();
    for (const reactor of this.reactors) await reactor.close?.();
    for (const [name, sink] of Object.entries(this.o.sinks ?? {}))
      await sink.flush().catch((err: unknown) => this.logger.warn(`${name} events: ${errorMessage(err)}`));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * Every event of the bus goes to the event sinks: the embedded store and, when configured,
 * Elasticsearch. Each sink is a subscriber of its own, so one failing never stops another.
 */
import type { EventBus } from './bus.js';
import type { ContainerEvent, EventSink } from './model.js';

/** Subscribes `sink` to every event; the returned function unsubscribes it. */
export function attachSink(bus: EventBus<ContainerEvent>, name: string, sink: EventSink): () => void {
  return bus.subscribe(`${name} events`, (event) => sink.record([event]));
}

/** A store that keeps events (`SqliteStore`, `ElasticsearchStore`) as an `EventSink`. */
export function storeEventSink(store: {
  recordEvents(events: readonly ContainerEvent[]): void;
  flush(): Promise<void>;
}): EventSink {
  return { record: (events) => store.recordEvents(events), flush: () => store.flush() };
}

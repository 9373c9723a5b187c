import { APP_NAMES, EVENTS, PRODUCER_NAMES, topicMatches, type AppName, type ProducerName } from '@shop/contracts';
import type { BrokerBinding } from '@shop/testing';

export interface ConsumerQueue {
  name: string;
  app: AppName;
  /** Its bindings to the producers' event exchanges. */
  bindings: Array<{ exchange: ProducerName; routingKey: string }>;
  /** The event types its bindings let in: what its consumer accepts (as @shop/messaging's `toSpec` derives it). */
  accepts: ReadonlySet<string>;
}

/** The consumer queues: every app's queue bound to one of the producers' event exchanges, read off the broker's bindings. */
export function consumerQueuesOf(bindings: readonly BrokerBinding[]): ConsumerQueue[] {
  const byQueue = new Map<string, ConsumerQueue>();
  for (const binding of bindings) {
    if (binding.destinationKind !== 'queue' || !(PRODUCER_NAMES as readonly string[]).includes(binding.source))
      continue;
    const app = binding.destination.split('.')[0] as AppName;
    // the event archive (shop.events, a stream the broker appends to) is no app's consumer queue
    if (!(APP_NAMES as readonly string[]).includes(app)) continue;
    const queue = byQueue.get(binding.destination) ?? {
      name: binding.destination,
      app,
      bindings: [],
      accepts: new Set<string>(),
    };
    queue.bindings.push({ exchange: binding.source as ProducerName, routingKey: binding.routingKey });
    byQueue.set(binding.destination, queue);
  }
  for (const queue of byQueue.values()) {
    const accepts = new Set<string>();
    for (const event of EVENTS.all) {
      if (queue.bindings.some((b) => b.exchange === event.producer && topicMatches(b.routingKey, event.type))) {
        accepts.add(event.type);
      }
    }
    queue.accepts = accepts;
  }
  return [...byQueue.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** The queues a message published to `exchange` with `routingKey` reaches. */
export function queuesReached(
  queues: readonly ConsumerQueue[],
  exchange: ProducerName,
  routingKey: string,
): ConsumerQueue[] {
  return queues.filter((q) =>
    q.bindings.some((b) => b.exchange === exchange && topicMatches(b.routingKey, routingKey)),
  );
}

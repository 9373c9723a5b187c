import type { AppName, EventDefinition } from '@shop/contracts';
import type { ConsumerOptions } from './messaging.options';

export const ON_EVENT = Symbol.for('shop.messaging.on-event');

/** A subscription: an event of the contracts, or a routing-key pattern on an app's exchange (wildcards allowed). */
export type Subscription = EventDefinition | { exchange: AppName; routingKey: string };

export interface OnEventMetadata {
  subscriptions: Subscription[];
  options: ConsumerOptions;
}

/**
 * Marks a controller or provider method as the handler of one or more events. The library declares
 * its queue (bound from the contracts), dead-letter queue and retries, and calls the method with the
 * validated, upcast event and its EventContext.
 *
 *   @OnEvent(OrderPlaced)
 *   async handle(event: EventOf<typeof OrderPlaced>, ctx: EventContext) { ... }
 */
export function OnEvent(subscriptions: Subscription | Subscription[], options: ConsumerOptions = {}): MethodDecorator {
  return (_target, _key, descriptor) => {
    const metadata: OnEventMetadata = {
      subscriptions: Array.isArray(subscriptions) ? subscriptions : [subscriptions],
      options,
    };
    Reflect.defineMetadata(ON_EVENT, metadata, descriptor.value as object);
    return descriptor;
  };
}

import { UseFilters } from '@nestjs/common';
import { EventPattern } from '@nestjs/microservices';
import type { EventDefinition, ProducerName } from '@shop/contracts';
import type { ConsumerOptions } from '../messaging.options';
import { DeliveryExceptionFilter } from './delivery-exception.filter';

/** The transport handlers of this library bind to (and no other transport's server). */
export const EVENT_TRANSPORT = Symbol.for('shop.messaging.transport');

/** Key of the handler's declaration in its `@EventPattern` extras. */
export const CONSUMER_DECLARATION = 'shop.messaging.consumer';

/** A subscription: an event of the contracts, or a routing-key pattern on a producer's exchange (wildcards allowed). */
export type Subscription = EventDefinition | { exchange: ProducerName; routingKey: string };

export interface ConsumeEventOptions extends ConsumerOptions {
  /**
   * The handler's durable queue, `<app>.<name>`. It is the handler's identity on the broker: messages
   * wait in it while the app is down, so it is named here once and never derived from a class or
   * method name (a rename of either keeps the queue and what waits in it).
   */
  queue: string;
  /**
   * `'subject'`: the events of one subject (one order) are handled one at a time, in the order they
   * were published, however many replicas run. They are spread by a hash of the subject over
   * `MessagingOptions.ordered.partitions` quorum queues with single active consumer (`<queue>.p0` ...),
   * each consumed by one replica at a time, one message at a time; a failed attempt is retried in
   * place, holding its partition, and dead-lettered after `retry.maxAttempts`. It costs throughput
   * (one handler at a time per partition): README, Ordered consumption. Needs the broker plugin
   * rabbitmq_consistent_hash_exchange; `prefetch` and `concurrency` do not apply.
   */
  ordered?: 'subject';
  /**
   * The handler's `ctx.transaction` is short database work that may run twice: when every lane of
   * the app's group commit is busy (`MessagingOptions.groupCommit`), it shares a transaction, and one
   * commit, with other such handlers' work; when one of them fails, the group rolls back and each runs
   * again alone. Leave it off for a handler whose transaction waits on anything slow (a remote call, a
   * long lock): the group would wait with it.
   */
  groupCommit?: boolean;
}

/** What `@ConsumeEvent` declares, as the transport reads it from the pattern's extras. */
export interface ConsumerDeclaration {
  subscriptions: Subscription[];
  options: ConsumeEventOptions;
  /** Class.method, for logs and errors. */
  handlerName: string;
}

/**
 * Marks a controller method as the handler of one or more events: an `@EventPattern` whose pattern
 * is the queue, for this library's transport only. The transport declares the queue (bound from the
 * contracts), its retries and dead-letter queue, and calls the method through Nest's pipeline
 * (guards, interceptors, pipes, exception filters) with the validated, upcast event as `@Payload()`
 * and its `EventContext` as `@Ctx()`:
 *
 *   @ConsumeEvent(OrderPlaced, { queue: 'inventory.reserve-stock' })
 *   reserve(@Payload() event: EventOf<typeof OrderPlaced>, @Ctx() ctx: EventContext) { ... }
 *
 * What a failure means (retry, dead-letter) is decided from the error that leaves the pipeline: an
 * exception filter of the handler or its class may map an error to `NonRetryableError` (dead-letter)
 * or to `RetryableError` (retry). The library's own filter is the last one asked, and passes the
 * error on as it is (Nest's default filter would log it and replace it with "Internal server error").
 */
export function ConsumeEvent(
  subscriptions: Subscription | Subscription[],
  options: ConsumeEventOptions,
): MethodDecorator {
  return (target, key, descriptor) => {
    const declaration: ConsumerDeclaration = {
      subscriptions: Array.isArray(subscriptions) ? subscriptions : [subscriptions],
      options,
      handlerName: `${target.constructor.name}.${String(key)}`,
    };
    // Class-level, and before any of the class's own @UseFilters (class decorators run after method
    // decorators): Nest asks filters from the method's outwards, so every filter the user wrote
    // comes first and this one last.
    registerFallbackFilter(target.constructor);
    return EventPattern(options.queue, EVENT_TRANSPORT, { [CONSUMER_DECLARATION]: declaration })(
      target,
      key,
      descriptor,
    );
  };
}

const withFallback = new WeakSet<object>();
const fallbackFilter = new DeliveryExceptionFilter();

function registerFallbackFilter(controller: object): void {
  if (withFallback.has(controller)) return;
  withFallback.add(controller);
  UseFilters(fallbackFilter)(controller as new (...args: never[]) => unknown);
}

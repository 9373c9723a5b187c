import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { APP_NAMES, type CloudEvent } from '@shop/contracts';
import { ConsumeEvent } from '@shop/messaging';
import { toTimelineEntry } from '../timeline-entry.entity';
import { OrderTimelineService } from '../order-timeline.service';

/**
 * Feeds the order timeline: every event of every app (routing key `#` on each exchange), on a queue
 * of its own (`orders.order-timeline-projection`), so it never holds up the saga's queues. One
 * INSERT per event, committed on its own: the row is the whole effect, and the event id's primary key
 * makes a redelivery a no-op, so the inbox and a transaction around it would only add three round
 * trips per event (bench:saga measured the projection's share of the orders database).
 */
@Controller()
export class OrderTimelineProjection {
  constructor(private readonly timeline: OrderTimelineService) {}

  @ConsumeEvent(APP_NAMES.map((exchange) => ({ exchange, routingKey: '#' })), {
    queue: 'orders.order-timeline-projection',
  })
  async handle(@Payload() event: CloudEvent<unknown>): Promise<void> {
    const entry = toTimelineEntry(event);
    // Every event of the contracts names its order; anything else is acknowledged and left out.
    if (!entry) return;
    await this.timeline.record(entry);
  }
}

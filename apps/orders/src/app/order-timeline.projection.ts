import { Controller } from '@nestjs/common';
import { APP_NAMES, type CloudEvent } from '@shop/contracts';
import { OnEvent, type EventContext } from '@shop/messaging';
import { toTimelineEntry } from './order-timeline';
import { OrderTimelineService } from './order-timeline.service';

/**
 * Feeds the order timeline: every event of every app (routing key `#` on each exchange), on a queue
 * of its own (`orders.order-timeline-projection`), so it never holds up the saga's queues. One
 * INSERT per event, in the transaction that records the event in the inbox: a redelivery is dropped
 * by the inbox, and the event id's primary key guards beyond the inbox's retention.
 */
@Controller()
export class OrderTimelineProjection {
  constructor(private readonly timeline: OrderTimelineService) {}

  @OnEvent(APP_NAMES.map((exchange) => ({ exchange, routingKey: '#' })))
  async handle(event: CloudEvent<unknown>, ctx: EventContext): Promise<void> {
    const entry = toTimelineEntry(event);
    // Every event of the contracts names its order; anything else is acknowledged and left out.
    if (!entry) return;
    await ctx.transaction((tx) => this.timeline.record(tx, entry));
  }
}

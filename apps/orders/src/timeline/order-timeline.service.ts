import { Injectable, NotFoundException } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { toTimelineView, type OrderTimelineView, type TimelineRow } from './timeline-entry.entity';

/** The `order_timeline` read model: folded from the archive by OrderTimelineProjection, read by GET /orders/{id}/timeline. */
@Injectable()
export class OrderTimelineService {
  constructor(private readonly db: DataSource) {}

  /**
   * The order's events by the time they happened, ties in archive order. A 404 when
   * orders does not know the order (or it is not `customerId`'s, when given); an order whose events
   * are not projected yet has those seen so far.
   */
  async read(orderId: string, customerId?: string): Promise<OrderTimelineView> {
    const rows = (await this.db.query(
      `SELECT o.id AS order_id, t.event_id, t.type, t.producer, t.occurred_at, t.trace_id, t.causation_id, t.summary
         FROM orders o
         LEFT JOIN order_timeline t ON t.order_id = o.id
        WHERE o.id = $1 AND ($2::varchar IS NULL OR o.customer_id = $2)
        ORDER BY t.occurred_at, t.position`,
      [orderId, customerId ?? null],
    )) as (TimelineRow & { order_id: string })[];
    if (rows.length === 0) throw new NotFoundException([`order ${orderId} does not exist`]);
    // no event yet: the LEFT JOIN's one row of nulls
    return toTimelineView(
      rows[0].order_id,
      rows.filter((row) => row.event_id !== null),
    );
  }
}

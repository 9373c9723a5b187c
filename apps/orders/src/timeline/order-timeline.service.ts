import { Injectable, NotFoundException } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { toTimelineView, type OrderTimelineView, type TimelineEntry, type TimelineRow } from './timeline-entry.entity';

/** The `order_timeline` read model: written by the projection, read by GET /orders/{id}/timeline. */
@Injectable()
export class OrderTimelineService {
  constructor(private readonly db: DataSource) {}

  /** One INSERT; an event id already there (a redelivery) changes nothing. */
  async record(entry: TimelineEntry): Promise<void> {
    await this.db.query(
      `INSERT INTO order_timeline
         (event_id, order_id, type, producer, occurred_at, trace_id, span_id, causation_id, summary)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (event_id) DO NOTHING`,
      [
        entry.eventId,
        entry.orderId,
        entry.type,
        entry.producer,
        entry.occurredAt,
        entry.traceId,
        entry.spanId,
        entry.causationId,
        entry.summary,
      ],
    );
  }

  /**
   * The order's events by the time they happened, ties in the order they were received. A 404 when
   * orders does not know the order (or it is not `customerId`'s, when given); an order whose events
   * are not projected yet has those seen so far.
   */
  async read(orderId: string, customerId?: string): Promise<OrderTimelineView> {
    const rows = (await this.db.query(
      `SELECT o.id AS order_id, t.event_id, t.type, t.producer, t.occurred_at, t.trace_id, t.causation_id, t.summary
         FROM orders o
         LEFT JOIN order_timeline t ON t.order_id = o.id
        WHERE o.id = $1 AND ($2::varchar IS NULL OR o.customer_id = $2)
        ORDER BY t.occurred_at, t.seq`,
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

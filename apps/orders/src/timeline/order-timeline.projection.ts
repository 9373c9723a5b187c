import { Injectable } from '@nestjs/common';
import type { ArchivedEvent, Projection } from '@shop/messaging';
import type { EntityManager } from 'typeorm';
import { toTimelineEntry, type TimelineEntry } from './timeline-entry.entity';

/**
 * The order timeline, folded from the event archive: every event of every app about an order, one
 * row per event id, `position` its archive offset (so a rebuild gives the very same rows). A batch of
 * events is one INSERT in the runner's transaction with the projection's position; an event id the
 * archive holds twice (a publish retried after a lost confirm) keeps its first row.
 */
@Injectable()
export class OrderTimelineProjection implements Projection {
  readonly name = 'timeline';
  readonly table = 'order_timeline';

  async createTable(tx: EntityManager, table: string): Promise<void> {
    // No foreign key to orders: the projection never reads nor locks an order.
    await tx.query(`
      CREATE TABLE ${table} (
        event_id text NOT NULL,
        position bigint NOT NULL,
        order_id uuid NOT NULL,
        type varchar(64) NOT NULL,
        producer varchar(32) NOT NULL,
        occurred_at timestamptz NOT NULL,
        trace_id char(32),
        span_id char(16),
        causation_id text,
        summary varchar(200),
        CONSTRAINT ${table}_pkey PRIMARY KEY (event_id)
      )`);
    // the endpoint's read: one order's events by time, then in archive order
    await tx.query(`CREATE INDEX ${table}_order_time ON ${table} (order_id, occurred_at, position)`);
  }

  async apply(tx: EntityManager, table: string, events: ArchivedEvent[]): Promise<void> {
    const rows: Array<TimelineEntry & { position: number }> = [];
    for (const { event, offset } of events) {
      // Every event of the contracts names its order; anything else is left out.
      const entry = event && toTimelineEntry(event);
      if (entry) rows.push({ ...entry, position: offset });
    }
    if (rows.length === 0) return;
    const column = <K extends keyof (typeof rows)[number]>(key: K) => rows.map((row) => row[key]);
    await tx.query(
      `INSERT INTO ${table}
         (event_id, position, order_id, type, producer, occurred_at, trace_id, span_id, causation_id, summary)
       SELECT * FROM unnest($1::text[], $2::bigint[], $3::uuid[], $4::varchar[], $5::varchar[], $6::timestamptz[],
                            $7::char(32)[], $8::char(16)[], $9::text[], $10::varchar[])
       ON CONFLICT (event_id) DO NOTHING`,
      [
        column('eventId'),
        column('position'),
        column('orderId'),
        column('type'),
        column('producer'),
        column('occurredAt'),
        column('traceId'),
        column('spanId'),
        column('causationId'),
        column('summary'),
      ],
    );
  }
}

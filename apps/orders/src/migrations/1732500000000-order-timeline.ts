import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The order timeline read model: one row per event (of any service) about an order, written by the
 * OrderTimelineProjection. No foreign key to orders: the projection never reads nor locks an order.
 */
export class OrderTimeline1732500000000 implements MigrationInterface {
  name = 'OrderTimeline1732500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE order_timeline (
        event_id text PRIMARY KEY,
        seq bigserial NOT NULL,
        order_id uuid NOT NULL,
        type varchar(64) NOT NULL,
        producer varchar(32) NOT NULL,
        occurred_at timestamptz NOT NULL,
        trace_id char(32),
        span_id char(16),
        causation_id text,
        summary varchar(200),
        received_at timestamptz NOT NULL DEFAULT now()
      )`);
    // the endpoint's read: one order's events by time, then in the order they were received
    await q.query(`CREATE INDEX order_timeline_order_time ON order_timeline (order_id, occurred_at, seq)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE order_timeline`);
  }
}

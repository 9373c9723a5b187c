import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Notifications1732400000000 implements MigrationInterface {
  name = 'Notifications1732400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE notifications (
        id uuid PRIMARY KEY,
        customer_id varchar(64) NOT NULL,
        order_id uuid NOT NULL,
        type varchar(32) NOT NULL CHECK (type IN ('ORDER_CONFIRMED', 'ORDER_CANCELLED', 'PAYMENT_REFUNDED')),
        message text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (order_id, type)
      )`);
    await q.query(`CREATE INDEX notifications_customer ON notifications (customer_id, created_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE notifications`);
  }
}

import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Orders1732400000000 implements MigrationInterface {
  name = 'Orders1732400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE orders (
        id uuid PRIMARY KEY,
        seq bigserial NOT NULL UNIQUE,
        customer_id varchar(64) NOT NULL,
        status varchar(16) NOT NULL CHECK (status IN ('PENDING', 'CONFIRMED', 'CANCELLED')),
        items jsonb NOT NULL,
        total bigint CHECK (total >= 0),
        currency char(3) NOT NULL DEFAULT 'USD',
        cancellation_reason varchar(32),
        payment_id uuid,
        paid_amount bigint,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX orders_customer_seq ON orders (customer_id, seq DESC)`);
    await q.query(`CREATE INDEX orders_status_seq ON orders (status, seq DESC)`);
    await q.query(`CREATE INDEX orders_pending_created ON orders (created_at) WHERE status = 'PENDING'`);
    await q.query(`
      CREATE TABLE idempotency_keys (
        key varchar(255) PRIMARY KEY,
        request_hash char(64) NOT NULL,
        order_id uuid NOT NULL REFERENCES orders (id) DEFERRABLE INITIALLY DEFERRED,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE idempotency_keys`);
    await q.query(`DROP TABLE orders`);
  }
}

import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Payments1732400000000 implements MigrationInterface {
  name = 'Payments1732400000000';

  async up(q: QueryRunner): Promise<void> {
    // The orders payments knows of, with what it needs to charge them. CANCELLED before it could charge
    // (also for an order cancelled before order.placed arrived) means it never will.
    await q.query(`
      CREATE TABLE payment_orders (
        order_id uuid PRIMARY KEY,
        customer_id varchar(64),
        payment_token varchar(128),
        status varchar(16) NOT NULL CHECK (status IN ('AWAITING', 'CHARGED', 'DECLINED', 'CANCELLED')),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    // At most one payment per order: the unique order_id makes a second capture impossible.
    await q.query(`
      CREATE TABLE payments (
        id uuid PRIMARY KEY,
        order_id uuid NOT NULL UNIQUE REFERENCES payment_orders (order_id),
        amount bigint NOT NULL CHECK (amount >= 0),
        status varchar(16) NOT NULL CHECK (status IN ('CAPTURED', 'DECLINED', 'REFUNDED')),
        reason varchar(32),
        provider_reference varchar(100),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    // The simulated card provider's own ledger: it answers a repeated idempotency key with its first result.
    await q.query(`
      CREATE TABLE provider_ledger (
        idempotency_key varchar(100) PRIMARY KEY,
        operation varchar(16) NOT NULL,
        amount bigint NOT NULL,
        outcome varchar(32) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE provider_ledger`);
    await q.query(`DROP TABLE payments`);
    await q.query(`DROP TABLE payment_orders`);
  }
}

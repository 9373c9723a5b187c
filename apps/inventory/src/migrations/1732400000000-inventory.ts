import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Inventory1732400000000 implements MigrationInterface {
  name = 'Inventory1732400000000';

  async up(q: QueryRunner): Promise<void> {
    // available + reserved + sold is what was stocked; none may go negative (the CHECKs make sure).
    await q.query(`
      CREATE TABLE products (
        sku varchar(64) PRIMARY KEY,
        name varchar(200) NOT NULL,
        price bigint NOT NULL CHECK (price >= 0),
        available integer NOT NULL CHECK (available >= 0),
        reserved integer NOT NULL DEFAULT 0 CHECK (reserved >= 0),
        sold integer NOT NULL DEFAULT 0 CHECK (sold >= 0),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    // One row per order seen: what is held for it. CANCELLED marks an order cancelled before it was seen.
    await q.query(`
      CREATE TABLE reservations (
        order_id uuid PRIMARY KEY,
        status varchar(16) NOT NULL CHECK (status IN ('CLAIMED', 'RESERVED', 'SOLD', 'RELEASED', 'REJECTED', 'CANCELLED')),
        lines jsonb NOT NULL DEFAULT '[]',
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE reservations`);
    await q.query(`DROP TABLE products`);
  }
}

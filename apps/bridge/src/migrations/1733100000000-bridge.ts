import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Bridge1733100000000 implements MigrationInterface {
  name = 'Bridge1733100000000';

  async up(q: QueryRunner): Promise<void> {
    // Every event accepted over HTTP, by its CloudEvent id: a retried POST finds it and publishes
    // nothing new. The digest tells a retry (same event) from a different event reusing the id.
    await q.query(`
      CREATE TABLE bridge_received_events (
        id uuid PRIMARY KEY,
        producer varchar(64) NOT NULL,
        type varchar(128) NOT NULL,
        digest char(64) NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX bridge_received_events_received_at ON bridge_received_events (received_at)`);
    // Push subscriptions; a deleted one is kept (deleted_at) until every replica stopped delivering
    // it, then its queue is deleted with it.
    await q.query(`
      CREATE TABLE bridge_subscriptions (
        id uuid PRIMARY KEY,
        name varchar(64) NOT NULL,
        types text[] NOT NULL,
        url text NOT NULL,
        secret text NOT NULL,
        concurrency int NOT NULL CHECK (concurrency BETWEEN 1 AND 64),
        rate_per_second int NOT NULL CHECK (rate_per_second BETWEEN 1 AND 10000),
        created_at timestamptz NOT NULL DEFAULT now(),
        deleted_at timestamptz
      )`);
    await q.query(
      `CREATE UNIQUE INDEX bridge_subscriptions_name ON bridge_subscriptions (name) WHERE deleted_at IS NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE bridge_subscriptions`);
    await q.query(`DROP TABLE bridge_received_events`);
  }
}

import type { MigrationInterface, QueryRunner } from 'typeorm';
import { MessagingProjections1733000000000 } from './1733000000000-projections';

/**
 * The messaging library's own tables, added by every app to its migrations:
 * the transactional outbox (events committed with the business change, published by the relay)
 * and the inbox (message ids a consumer has applied, for effectively-once handling).
 */
export class MessagingTables1732300000000 implements MigrationInterface {
  name = 'MessagingTables1732300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE messaging_outbox (
        id uuid PRIMARY KEY,
        exchange text NOT NULL,
        routing_key text NOT NULL,
        body text NOT NULL,
        subject text NOT NULL,
        traceparent text,
        tracestate text,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        next_attempt_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        attempts integer NOT NULL DEFAULT 0,
        last_error text
      )`);
    await queryRunner.query(`CREATE INDEX messaging_outbox_due ON messaging_outbox (next_attempt_at, created_at)`);
    await queryRunner.query(`
      CREATE TABLE messaging_inbox (
        consumer text NOT NULL,
        message_id text NOT NULL,
        handled_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (consumer, message_id)
      )`);
    await queryRunner.query(`CREATE INDEX messaging_inbox_handled_at ON messaging_inbox (handled_at)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE messaging_inbox`);
    await queryRunner.query(`DROP TABLE messaging_outbox`);
  }
}

export const messagingMigrations = [MessagingTables1732300000000, MessagingProjections1733000000000];

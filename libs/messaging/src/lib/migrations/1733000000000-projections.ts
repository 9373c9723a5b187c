import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Where each projection of the archive is: the offset its table holds events up to, and its rebuild
 * (state, the rebuild table's offset, counts and times). A projection's own table is created by the
 * projection (`Projection.createTable`), since a rebuild creates a fresh one beside it.
 */
export class MessagingProjections1733000000000 implements MigrationInterface {
  name = 'MessagingProjections1733000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE messaging_projections (
        name text PRIMARY KEY,
        position bigint,
        events bigint NOT NULL DEFAULT 0,
        state text NOT NULL DEFAULT 'live' CHECK (state IN ('live', 'rebuilding')),
        rebuild_position bigint,
        rebuild_events bigint NOT NULL DEFAULT 0,
        started_at timestamptz,
        finished_at timestamptz,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE messaging_projections`);
  }
}

import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { ArchivedEvent } from './archive-reader';
import type { Projection } from './projection';

/**
 * The archive's index by subject (the order id): one small row per event, `(subject, offset)`, kept as
 * the stream is read. Finding one order's events is then an index lookup and a read of those offsets
 * (ArchiveAudit), never a scan of the stream. An event id met twice (a publish retried after a lost
 * confirm) keeps its first offset.
 */
@Injectable()
export class SubjectIndexProjection implements Projection {
  readonly name = 'archive-index';
  readonly table = 'archive_subject_index';

  async createTable(tx: EntityManager, table: string): Promise<void> {
    await tx.query(`
      CREATE TABLE ${table} (
        event_id text NOT NULL,
        subject text NOT NULL,
        position bigint NOT NULL,
        type text NOT NULL,
        CONSTRAINT ${table}_pkey PRIMARY KEY (event_id)
      )`);
    await tx.query(`CREATE INDEX ${table}_by_subject ON ${table} (subject, position)`);
  }

  async apply(tx: EntityManager, table: string, events: ArchivedEvent[]): Promise<void> {
    const rows = events.filter((item) => item.event);
    await tx.query(
      `INSERT INTO ${table} (event_id, subject, position, type)
       SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[])
       ON CONFLICT (event_id) DO NOTHING`,
      [
        rows.map((item) => item.event?.id),
        rows.map((item) => item.event?.subject),
        rows.map((item) => item.offset),
        rows.map((item) => item.event?.type),
      ],
    );
  }
}

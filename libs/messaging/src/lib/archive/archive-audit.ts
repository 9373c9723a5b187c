import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { MessagingService } from '../messaging.service';
import { SubjectIndexProjection } from './subject-index.projection';

/** An archived event as it was published: the body's JSON, untouched. */
export type PublishedEvent = Record<string, unknown> & { id: string; type: string; subject: string };

export class UnknownCursorError extends Error {}

/**
 * Audit from the archive: one subject's events, in publish order, as they were published. The subject
 * index gives their offsets; the archive gives the bodies (ArchiveReader.read: one pass over offsets
 * close together, a new start past a wide gap).
 */
@Injectable()
export class ArchiveAudit {
  constructor(
    private readonly db: DataSource,
    private readonly messaging: MessagingService,
    private readonly index: SubjectIndexProjection,
  ) {}

  /**
   * Up to `limit` events of `subject` after the event `after` (an event id of the same subject, the
   * last one of the previous page). Throws UnknownCursorError when `after` is not one of its events.
   */
  async eventsOf(subject: string, page: { after?: string; limit: number }): Promise<PublishedEvent[]> {
    const table = this.index.table;
    let from = -1;
    if (page.after !== undefined) {
      const [cursor] = (await this.db.query(`SELECT position FROM ${table} WHERE event_id = $1 AND subject = $2`, [
        page.after,
        subject,
      ])) as Array<{ position: string }>;
      if (!cursor) throw new UnknownCursorError(`after: no event ${page.after} of subject ${subject} in the archive`);
      from = Number(cursor.position);
    }
    const rows = (await this.db.query(
      `SELECT position FROM ${table} WHERE subject = $1 AND position > $2 ORDER BY position LIMIT $3`,
      [subject, from, page.limit],
    )) as Array<{ position: string }>;
    const archived = await this.messaging.archive.read(rows.map((row) => Number(row.position)));
    return archived.map((item) => JSON.parse(item.content.toString('utf8')) as PublishedEvent);
  }
}

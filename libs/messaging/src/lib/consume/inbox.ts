import type { DataSource, EntityManager } from 'typeorm';
import { preparedQuery } from '../sql/prepared';

const INSERT_INBOX_ROW = {
  name: 'shop_messaging_inbox_insert',
  text: `INSERT INTO messaging_inbox (consumer, message_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1`,
};

/**
 * Records, in the handler's own transaction, that `consumer` applied `messageId`.
 * Returns false when it already had: a concurrent or earlier delivery committed first
 * (the unique key makes a second replica wait for the first one's commit, then see its row).
 */
export async function recordInInbox(tx: EntityManager, consumer: string, messageId: string): Promise<boolean> {
  const inserted = await preparedQuery(tx, INSERT_INBOX_ROW, [consumer, messageId]);
  return inserted.length === 1;
}

/** Forgets message ids older than the retention: redeliveries come within minutes, not weeks. */
export async function pruneInbox(dataSource: DataSource, retentionMs: number): Promise<void> {
  await dataSource.query(`DELETE FROM messaging_inbox WHERE handled_at < now() - $1 * interval '1 millisecond'`, [
    retentionMs,
  ]);
}

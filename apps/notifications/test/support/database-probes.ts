import { waitFor } from '@shop/testing';
import type { DataSource } from 'typeorm';

/** A `SELECT count(*) n ...` as a number. */
export const count = async (db: DataSource, sql: string, params: unknown[] = []) =>
  Number(((await db.query(sql, params)) as { n: string }[])[0]?.n);

/** Until the consumer of `queue` has committed its handling of the event (its inbox row). */
export function handled(db: DataSource, queue: string, eventId: string): Promise<true> {
  return waitFor(
    async () =>
      (await count(db, `SELECT count(*) n FROM messaging_inbox WHERE consumer = $1 AND message_id = $2`, [
        queue,
        eventId,
      ])) === 1,
    { description: `${queue} to handle ${eventId}`, timeoutMs: 30_000 },
  );
}

/** Until every event committed so far is confirmed by the broker (the relay deletes it then). */
export function outboxDrained(db: DataSource): Promise<true> {
  return waitFor(async () => (await count(db, `SELECT count(*) n FROM messaging_outbox`)) === 0, {
    description: 'the outbox to be empty',
    timeoutMs: 30_000,
  });
}

/** Until `n` sessions of this database wait for a lock another transaction holds. */
export function lockWaiters(db: DataSource, n = 1): Promise<true> {
  return waitFor(
    async () =>
      (await count(
        db,
        `SELECT count(*) n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
      )) >= n,
    { description: `${n} session(s) waiting for a lock`, timeoutMs: 30_000 },
  );
}

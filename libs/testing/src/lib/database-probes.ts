import { waitFor } from './wait-for';

/**
 * What the probes need of a database: a query resolving to its rows, as TypeORM's DataSource,
 * EntityManager and QueryRunner answer (not a pg Client, whose result holds them in `rows`).
 */
export interface SqlQueryable {
  query(sql: string, parameters?: unknown[]): Promise<unknown>;
}

/** A `SELECT count(*) n ...` as a number. */
export async function queryCount(db: SqlQueryable, sql: string, parameters: unknown[] = []): Promise<number> {
  return Number(((await db.query(sql, parameters)) as { n: string | number }[])[0]?.n);
}

/** Until the consumer of `queue` has committed its handling of the event (its inbox row). */
export function handled(db: SqlQueryable, queue: string, eventId: string): Promise<true> {
  return waitFor(
    async () =>
      (await queryCount(db, `SELECT count(*) n FROM messaging_inbox WHERE consumer = $1 AND message_id = $2`, [
        queue,
        eventId,
      ])) === 1,
    { description: `${queue} to handle ${eventId}`, timeoutMs: 30_000 },
  );
}

/** Until every event committed so far is confirmed by the broker (the relay deletes it then). */
export function outboxDrained(db: SqlQueryable): Promise<true> {
  return waitFor(async () => (await queryCount(db, `SELECT count(*) n FROM messaging_outbox`)) === 0, {
    description: 'the outbox to be empty',
    timeoutMs: 30_000,
  });
}

const LOCK_WAITERS = `SELECT count(*) n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`;

/**
 * The sessions of this database waiting for a lock another transaction holds; with `statement`,
 * only those running a statement that contains it: how a test knows that a transaction has reached
 * the lock it is meant to queue on.
 */
export function sessionsWaitingForLock(db: SqlQueryable, statement?: string): Promise<number> {
  return statement === undefined
    ? queryCount(db, LOCK_WAITERS)
    : queryCount(db, `${LOCK_WAITERS} AND position($1 in query) > 0`, [statement]);
}

/** Until `n` sessions of this database wait for a lock another transaction holds. */
export function lockWaiters(db: SqlQueryable, n = 1): Promise<true> {
  return waitFor(async () => (await sessionsWaitingForLock(db)) >= n, {
    description: `${n} session(s) waiting for a lock`,
    timeoutMs: 30_000,
  });
}

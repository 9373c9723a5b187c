import type { DataSource, EntityManager, QueryRunner } from 'typeorm';

/** What a PostgreSQL query runner of TypeORM holds once connected: node-postgres's client. */
interface PgClient {
  query(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: unknown[] }>;
}

/**
 * A statement of the messaging library's hot path (the inbox row, the outbox row, the outbox's
 * deletes), run by node-postgres as a named prepared statement on the connection of the caller's
 * transaction: PostgreSQL parses and plans it once per connection instead of at every message, and
 * TypeORM's per-query bookkeeping is skipped. Any other driver (or a runner not connected yet) runs
 * it as an ordinary query. `name` must be unique per `text`.
 */
export async function preparedQuery<T>(
  runner: EntityManager | QueryRunner,
  statement: { name: string; text: string },
  values: unknown[],
): Promise<T[]> {
  const queryRunner: QueryRunner | undefined = 'manager' in runner ? runner : runner.queryRunner;
  const client = pgClientOf(queryRunner);
  if (!client) return (await runner.query(statement.text, values)) as T[];
  const { rows } = await client.query({ name: statement.name, text: statement.text, values });
  return rows as T[];
}

/** `preparedQuery` outside a transaction: on a connection of the pool, released afterwards. */
export async function preparedQueryOn<T>(
  dataSource: DataSource,
  statement: { name: string; text: string },
  values: unknown[],
): Promise<T[]> {
  const runner = dataSource.createQueryRunner();
  try {
    await runner.connect();
    return await preparedQuery<T>(runner, statement, values);
  } finally {
    await runner.release();
  }
}

function pgClientOf(runner: QueryRunner | undefined): PgClient | undefined {
  if (!runner || runner.connection.driver.options.type !== 'postgres') return undefined;
  const client = (runner as unknown as { databaseConnection?: PgClient }).databaseConnection;
  return client && typeof client.query === 'function' ? client : undefined;
}

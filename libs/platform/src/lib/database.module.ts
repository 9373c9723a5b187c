import type { DynamicModule } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { messagingMigrations } from '@shop/messaging';
import { DataSource, type DataSourceOptions, type MixedList } from 'typeorm';

export interface DatabaseModuleOptions extends DatabaseConnection {
  /** The app's own migrations; the messaging tables' (outbox, inbox) come first. */
  migrations: MixedList<Function>; // eslint-disable-line @typescript-eslint/no-unsafe-function-type
  entities?: MixedList<Function>; // eslint-disable-line @typescript-eslint/no-unsafe-function-type
  poolSize?: number;
}

export interface DatabaseConnection {
  url: string;
  /** Wait for a connection (new, or free in a busy pool) at most this long; then the query fails as an outage. */
  connectTimeoutMs: number;
  /** PostgreSQL cancels a statement running, or a transaction idle, longer than this. */
  statementTimeoutMs: number;
}

/** The database part of an app's settings (commonSettings'). */
export function databaseConnection(settings: {
  DATABASE_URL: string;
  DATABASE_CONNECT_TIMEOUT_MS: number;
  DATABASE_STATEMENT_TIMEOUT_MS: number;
}): DatabaseConnection {
  return {
    url: settings.DATABASE_URL,
    connectTimeoutMs: settings.DATABASE_CONNECT_TIMEOUT_MS,
    statementTimeoutMs: settings.DATABASE_STATEMENT_TIMEOUT_MS,
  };
}

/**
 * node-postgres pool settings that keep an outage bounded: no request waits longer than
 * `connectTimeoutMs` for a connection, the server cancels what runs or idles in a transaction past
 * `statementTimeoutMs` (freeing its locks), and a connection whose server vanished without a word
 * (a partition) fails its query a little later on the client side and is thrown away. Broken
 * connections leave the pool by themselves, so it recovers when the database is back.
 */
export function poolOptions(connection: DatabaseConnection, max: number) {
  return {
    max,
    connectionTimeoutMillis: connection.connectTimeoutMs,
    statement_timeout: connection.statementTimeoutMs,
    idle_in_transaction_session_timeout: connection.statementTimeoutMs,
    query_timeout: connection.statementTimeoutMs + 5_000,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  };
}

/** Any 64-bit key will do, as long as every replica of every app uses the same one. */
const MIGRATION_LOCK = 7_240_113;

/**
 * TypeORM on the app's own database: never `synchronize`, migrations run at start under a PostgreSQL
 * advisory lock, so replicas starting together run them once, one after the other.
 */
export function databaseModule(options: DatabaseModuleOptions): DynamicModule {
  return TypeOrmModule.forRootAsync({
    useFactory: () => ({
      type: 'postgres',
      url: options.url,
      entities: options.entities ?? [],
      migrations: [...messagingMigrations, ...(options.migrations as Function[])], // eslint-disable-line @typescript-eslint/no-unsafe-function-type
      migrationsRun: false,
      synchronize: false,
      extra: poolOptions(options, options.poolSize ?? 10),
    }),
    dataSourceFactory: async (dataSourceOptions) => {
      const dataSource = await new DataSource(dataSourceOptions as DataSourceOptions).initialize();
      await runMigrationsLocked(dataSource);
      return dataSource;
    },
  });
}

export async function runMigrationsLocked(dataSource: DataSource): Promise<void> {
  const session = dataSource.createQueryRunner();
  await session.connect();
  try {
    await session.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await dataSource.runMigrations({ transaction: 'each' });
  } finally {
    await session.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await session.release();
  }
}

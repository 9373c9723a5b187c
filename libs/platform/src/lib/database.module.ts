import type { DynamicModule } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { messagingMigrations } from '@shop/messaging';
import { DataSource, type DataSourceOptions, type MixedList } from 'typeorm';

export interface DatabaseModuleOptions {
  url: string;
  /** The app's own migrations; the messaging tables' (outbox, inbox) come first. */
  migrations: MixedList<Function>; // eslint-disable-line @typescript-eslint/no-unsafe-function-type
  entities?: MixedList<Function>; // eslint-disable-line @typescript-eslint/no-unsafe-function-type
  poolSize?: number;
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
      extra: { max: options.poolSize ?? 10 },
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

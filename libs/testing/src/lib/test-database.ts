import { Client } from 'pg';
import { databaseUrl } from './service-urls';
import { assertTestDatabaseName, testDatabaseName } from './test-names';

export interface TestDatabase {
  /** Connection URL of the new database: the server, user and options of `DATABASE_URL`. */
  url: string;
  name: string;
  /** Drops the database, closing whatever connections are still open on it. */
  drop(): Promise<void>;
}

/**
 * A fresh, empty database `test_<label>_<random>` on the server of `DATABASE_URL`, so a test file
 * can run its migrations and write freely without seeing or disturbing anyone else's rows.
 */
export async function createTestDatabase(label: string): Promise<TestDatabase> {
  const adminUrl = databaseUrl();
  const name = testDatabaseName(label);
  assertTestDatabaseName(name);
  await withAdminClient(adminUrl, (client) => client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`));

  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: () => dropTestDatabase(adminUrl, name),
  };
}

async function dropTestDatabase(adminUrl: string, name: string): Promise<void> {
  assertTestDatabaseName(name);
  await withAdminClient(adminUrl, (client) =>
    client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`),
  );
}

async function withAdminClient<T>(adminUrl: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: adminUrl, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

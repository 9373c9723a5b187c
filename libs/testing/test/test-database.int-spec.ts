import { Client } from 'pg';
import { createTestDatabase, type TestDatabase } from '../src';

async function query<T>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

const databaseExists = async (name: string) =>
  (
    await query<{ n: string }>(
      process.env['DATABASE_URL'] as string,
      'SELECT count(*) AS n FROM pg_database WHERE datname = $1',
      [name],
    )
  )[0].n === '1';

describe('createTestDatabase', () => {
  let database: TestDatabase | undefined;

  afterEach(async () => {
    await database?.drop();
    database = undefined;
  });

  it('creates an empty database of its own, usable through the returned URL', async () => {
    database = await createTestDatabase('Orders: outbox relay');

    expect(database.name).toMatch(/^test_orders_outbox_relay_[0-9a-f]{8}$/);
    expect(new URL(database.url).pathname).toBe(`/${database.name}`);
    await query(database.url, 'CREATE TABLE things (id int PRIMARY KEY)');
    await query(database.url, 'INSERT INTO things VALUES (1), (2)');
    const [{ current_database, n }] = await query<{ current_database: string; n: string }>(
      database.url,
      'SELECT current_database(), (SELECT count(*) FROM things) AS n',
    );
    expect(current_database).toBe(database.name);
    expect(n).toBe('2');
  });

  it('gives two tests two different databases', async () => {
    database = await createTestDatabase('same-label');
    const other = await createTestDatabase('same-label');
    try {
      expect(other.name).not.toBe(database.name);
    } finally {
      await other.drop();
    }
  });

  it('drops the database even while a client is still connected to it', async () => {
    database = await createTestDatabase('drop');
    const lingering = new Client({ connectionString: database.url });
    lingering.on('error', () => undefined); // the drop terminates this connection
    await lingering.connect();

    await database.drop();

    expect(await databaseExists(database.name)).toBe(false);
    await lingering.end().catch(() => undefined);
    await database.drop(); // dropping twice is harmless
  });
});

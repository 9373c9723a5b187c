import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { ensureDatabase } from '../src';

const adminUrl = () => process.env['DATABASE_URL'] as string;

function urlOf(name: string): string {
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  return url.toString();
}

async function admin<T>(work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

describe('ensureDatabase', () => {
  const name = `test_ensure_${randomBytes(4).toString('hex')}`;
  afterAll(() => admin((client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)));

  it('creates a missing database once, even when several replicas race to do it', async () => {
    const created = await Promise.all(Array.from({ length: 4 }, () => ensureDatabase(urlOf(name))));

    expect(created.filter(Boolean)).toHaveLength(1);
    const rows = await admin((client) => client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]));
    expect(rows.rowCount).toBe(1);
    expect(await ensureDatabase(urlOf(name))).toBe(false);
  });

  it('explains, naming the database, when the server refuses', async () => {
    const url = new URL(urlOf(`${name}_x`));
    url.username = 'no_such_role_here';
    await expect(ensureDatabase(url.toString())).rejects.toThrow(`cannot create database "${name}_x"`);
  });
});

import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { startPrivatePostgres } from '@shop/testing';
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

  it('waits for a server that is down at start (a restart, a failover) and creates the database once it is back', async () => {
    const postgres = await startPrivatePostgres();
    try {
      const waits: string[] = [];
      let started: Promise<boolean> | undefined;
      const url = new URL(postgres.url);
      url.pathname = '/started_during_outage';
      await postgres.outage(2_000, () => {
        started = ensureDatabase(url.toString(), { onWait: (error) => waits.push(error.message) });
      });
      expect(await started).toBe(true);
      expect(waits.length).toBeGreaterThan(0);
      expect(waits[0]).toMatch(/ECONNREFUSED/);
    } finally {
      await postgres.stop();
    }
  }, 60_000);

  it('gives up after waitMs on a server that never answers, naming the database', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    const started = Date.now();
    await expect(ensureDatabase(`postgres://postgres@127.0.0.1:${port}/nowhere`, { waitMs: 1_500 })).rejects.toThrow(
      'cannot create database "nowhere"',
    );
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

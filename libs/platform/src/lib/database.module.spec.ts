import { unavailableDependency } from '@shop/messaging';
import { Pool } from 'pg';
import { poolOptions } from './database.module';

/** The pool the apps run with, against the test's PostgreSQL: nothing waits or runs without bound. */
describe('poolOptions', () => {
  const url = () => {
    const value = process.env['DATABASE_URL'];
    if (!value) throw new Error('DATABASE_URL is not set: run through Jest (its global setup sets it)');
    return value;
  };
  let pool: Pool;

  beforeEach(() => {
    pool = new Pool({
      connectionString: url(),
      ...poolOptions({ url: url(), connectTimeoutMs: 300, statementTimeoutMs: 200 }, 1),
    });
    pool.on('error', () => undefined);
  });
  afterEach(() => pool.end());

  it('cancels a statement that runs past DATABASE_STATEMENT_TIMEOUT_MS, as an outage (503), and the pool goes on', async () => {
    const started = Date.now();
    const error = await pool.query('SELECT pg_sleep(5)').catch((e: unknown) => e);
    expect((error as { code?: string }).code).toBe('57014');
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(unavailableDependency(error)).toBe('database');
    expect((await pool.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  it('fails a query that waits past DATABASE_CONNECT_TIMEOUT_MS for a connection of a full pool, as an outage', async () => {
    const held = await pool.connect();
    try {
      const started = Date.now();
      const error = await pool.query('SELECT 1').catch((e: unknown) => e);
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(unavailableDependency(error)).toBe('database');
    } finally {
      held.release();
    }
  });

  it('ends a transaction left idle past the statement timeout, freeing its locks', async () => {
    const client = await pool.connect();
    client.on('error', () => undefined);
    try {
      await client.query('BEGIN');
      await new Promise((resolve) => setTimeout(resolve, 600));
      const error = await client.query('SELECT 1').catch((e: unknown) => e);
      expect(unavailableDependency(error)).toBe('database');
    } finally {
      client.release(true);
    }
  });
});

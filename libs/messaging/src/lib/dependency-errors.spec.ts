import { createServer, type AddressInfo } from 'node:net';
import { Client, Pool } from 'pg';
import { QueryFailedError } from 'typeorm';
import { NonRetryableError, RetryableError } from './consume/errors';
import { DependencyUnavailableError, unavailableDependency } from './dependency-errors';

/** What node-postgres really throws (against the test's PostgreSQL and a closed port), classified. */
describe('unavailableDependency', () => {
  const databaseUrl = () => {
    const url = process.env['DATABASE_URL'];
    if (!url) throw new Error('DATABASE_URL is not set: run through Jest (its global setup sets it)');
    return url;
  };

  const rejection = async (work: () => Promise<unknown>): Promise<unknown> => {
    try {
      await work();
    } catch (error) {
      return error;
    }
    throw new Error('expected a rejection');
  };

  /** A port nothing listens on: bound, then closed again. */
  const closedPort = async (): Promise<number> => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    return port;
  };

  it('calls a refused connection a database outage', async () => {
    const client = new Client({
      host: '127.0.0.1',
      port: await closedPort(),
      user: 'x',
      connectionTimeoutMillis: 2_000,
    });
    expect(unavailableDependency(await rejection(() => client.connect()))).toBe('database');
  });

  it('calls a pool with no free connection within its timeout a database outage', async () => {
    const pool = new Pool({ connectionString: databaseUrl(), max: 1, connectionTimeoutMillis: 100 });
    const held = await pool.connect();
    try {
      expect(unavailableDependency(await rejection(() => pool.connect()))).toBe('database');
    } finally {
      held.release();
      await pool.end();
    }
  });

  it('calls a statement timeout and a terminated session outages, also wrapped by TypeORM', async () => {
    const client = new Client({ connectionString: databaseUrl() });
    client.on('error', () => undefined);
    await client.connect();
    const victim = new Client({ connectionString: databaseUrl() });
    victim.on('error', () => undefined);
    await victim.connect();
    try {
      await client.query('SET statement_timeout = 50');
      const timeout = await rejection(() => client.query('SELECT pg_sleep(2)'));
      expect((timeout as { code?: string }).code).toBe('57014');
      expect(unavailableDependency(timeout)).toBe('database');
      expect(unavailableDependency(new QueryFailedError('SELECT pg_sleep(2)', [], timeout as Error))).toBe('database');

      const { rows } = await victim.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      await client.query('SET statement_timeout = 0');
      await client.query('SELECT pg_terminate_backend($1)', [rows[0].pid]);
      expect(unavailableDependency(await rejection(() => victim.query('SELECT 1')))).toBe('database');
    } finally {
      await Promise.all([client.end(), victim.end().catch(() => undefined)]);
    }
  });

  it('leaves bugs and bad input unexpected: a syntax error, a constraint violation, a TypeError', async () => {
    const client = new Client({ connectionString: databaseUrl() });
    await client.connect();
    try {
      const syntax = await rejection(() => client.query('SELEC 1'));
      expect((syntax as { code?: string }).code).toBe('42601');
      expect(unavailableDependency(syntax)).toBeUndefined();
      expect(unavailableDependency(new QueryFailedError('SELEC 1', [], syntax as Error))).toBeUndefined();
      const division = await rejection(() => client.query('SELECT 1 / 0'));
      expect(unavailableDependency(division)).toBeUndefined();
    } finally {
      await client.end();
    }
    expect(unavailableDependency(new TypeError("Cannot read properties of undefined (reading 'id')"))).toBeUndefined();
    expect(unavailableDependency(Object.assign(new Error('duplicate key'), { code: '23505' }))).toBeUndefined();
    expect(unavailableDependency('a string')).toBeUndefined();
    expect(unavailableDependency(undefined)).toBeUndefined();
  });

  it("takes TypeORM's released query runner (a connection that died mid-transaction) for an outage only when asked", async () => {
    const { QueryRunnerAlreadyReleasedError, QueryRunnerProviderAlreadyReleasedError } = await import('typeorm');
    for (const error of [new QueryRunnerAlreadyReleasedError(), new QueryRunnerProviderAlreadyReleasedError()]) {
      expect(unavailableDependency(error, { lostConnection: true })).toBe('database');
      expect(unavailableDependency(error)).toBeUndefined();
    }
  });

  it('finds an outage inside what wraps it, and takes a DependencyUnavailableError at its word', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    expect(unavailableDependency(new AggregateError([new Error('x'), refused]))).toBe('database');
    expect(unavailableDependency(new Error('transaction failed', { cause: refused }))).toBe('database');
    expect(unavailableDependency(new DependencyUnavailableError('broker', 'not connected'))).toBe('broker');
    // a handler's own verdict stands, whatever it wraps (a webhook target refusing the connection)
    expect(unavailableDependency(new RetryableError('webhook down', { cause: refused }))).toBeUndefined();
    expect(unavailableDependency(new NonRetryableError('refused', { cause: refused }))).toBeUndefined();
    const loop: { cause?: unknown } = new Error('loop');
    loop.cause = loop;
    expect(unavailableDependency(loop)).toBeUndefined();
  });
});

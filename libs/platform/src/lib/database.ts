import { Client } from 'pg';

/**
 * Creates the database of `url` when it does not exist, connecting to the server's `postgres`
 * database to do so. Several replicas starting at once are fine: the losers of the race see it exist.
 * Returns true when this call created it.
 */
export async function ensureDatabase(url: string): Promise<boolean> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (!name) throw new Error('DATABASE_URL names no database');

  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString(), connectionTimeoutMillis: 10_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount) return false;
    await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
    return true;
  } catch (error) {
    const code = (error as { code?: string }).code;
    // 42P04 duplicate_database; 23505 when two CREATE DATABASE race on the catalogue's unique index.
    if (code === '42P04' || code === '23505') return false;
    throw new Error(`cannot create database "${name}": ${(error as Error).message}`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

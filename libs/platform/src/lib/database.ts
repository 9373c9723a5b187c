import { unavailableDependency } from '@shop/messaging';
import { Client } from 'pg';

/**
 * Creates the database of `url` when it does not exist, connecting to the server's `postgres`
 * database to do so. Several replicas starting at once are fine: the losers of the race see it exist.
 * A server that is not reachable yet (starting, restarting, failing over) is waited for, with
 * backoff, up to `waitMs`; `onWait` hears of each failed try. Returns true when this call created it.
 */
export async function ensureDatabase(
  url: string,
  options: { waitMs?: number; onWait?: (error: Error, retryInMs: number) => void } = {},
): Promise<boolean> {
  const deadline = Date.now() + (options.waitMs ?? 60_000);
  for (let attempt = 0; ; attempt++) {
    try {
      return await createIfMissing(url);
    } catch (error) {
      const retryInMs = Math.min(2_000, 250 * 2 ** attempt);
      if (!unavailableDependency(error) || Date.now() + retryInMs > deadline) throw error;
      options.onWait?.(error as Error, retryInMs);
      await new Promise((resolve) => setTimeout(resolve, retryInMs));
    }
  }
}

async function createIfMissing(url: string): Promise<boolean> {
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
    throw new Error(`cannot create database "${name}": ${(error as Error).message}`, { cause: error });
  } finally {
    await client.end().catch(() => undefined);
  }
}

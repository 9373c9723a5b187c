import { createTestDatabase } from '@shop/testing';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Client } from 'pg';

/**
 * What the database alone can do: `clients` connections each committing, as fast as they can, the
 * transaction every saga step commits: one business row and one outbox row (a ~450-byte CloudEvent).
 * The tables have the shape of orders' and of messaging_outbox, indexes included.
 */
export async function measureDatabaseBound(options: { clients: number; seconds: number }): Promise<number> {
  const database = await createTestDatabase('bench db bound');
  const clients = Array.from({ length: options.clients }, () => new Client({ connectionString: database.url }));
  try {
    await Promise.all(clients.map((client) => client.connect()));
    await clients[0].query(`
      CREATE TABLE business (
        id uuid PRIMARY KEY, seq bigserial UNIQUE, customer_id text NOT NULL, status text NOT NULL,
        items jsonb NOT NULL, total integer, created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now());
      CREATE TABLE outbox (
        id uuid PRIMARY KEY, exchange text NOT NULL, routing_key text NOT NULL, body text NOT NULL,
        subject text NOT NULL, traceparent text, tracestate text, attempts integer NOT NULL DEFAULT 0,
        last_error text, created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        next_attempt_at timestamptz NOT NULL DEFAULT clock_timestamp());
      CREATE INDEX outbox_due ON outbox (next_attempt_at, created_at);`);
    const body = JSON.stringify({ specversion: '1.0', id: randomUUID(), data: 'x'.repeat(300) });
    const end = performance.now() + options.seconds * 1000;
    let committed = 0;
    const start = performance.now();
    await Promise.all(
      clients.map(async (client) => {
        while (performance.now() < end) {
          const id = randomUUID();
          await client.query('BEGIN');
          await client.query(`INSERT INTO business (id, customer_id, status, items) VALUES ($1, 'c', 'PENDING', $2)`, [
            id,
            '[{"sku":"SKU-1","quantity":1}]',
          ]);
          await client.query(
            `INSERT INTO outbox (id, exchange, routing_key, body, subject) VALUES ($1, 'orders', 'order.placed', $2, $3)`,
            [randomUUID(), body, id],
          );
          await client.query('COMMIT');
          committed++;
        }
      }),
    );
    return committed / ((performance.now() - start) / 1000);
  } finally {
    await Promise.all(clients.map((client) => client.end().catch(() => undefined)));
    await database.drop();
  }
}

/**
 * Committed transactions so far in each of `databases` (pg_stat_database.xact_commit, flushed about once
 * a second): read-only ones included (health checks, idle polls, the benchmark's own queries).
 */
export async function commitsOf(adminUrl: string, databases: string[]): Promise<number> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>(
      `SELECT coalesce(sum(xact_commit), 0) AS n FROM pg_stat_database WHERE datname = ANY($1::text[])`,
      [databases],
    );
    return Number(rows[0].n);
  } finally {
    await client.end();
  }
}

/**
 * The cluster's next transaction id (`pg_snapshot_xmax` of the current snapshot; asking takes none):
 * its growth over an interval is the number of transactions (and subtransactions) that were assigned
 * an id, i.e. that wrote, in any database of the cluster.
 */
export async function nextXid(adminUrl: string): Promise<number> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ xid: string }>(
      `SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS xid`,
    );
    return Number(rows[0].xid);
  } finally {
    await client.end();
  }
}

import { Client } from 'pg';
import {
  createTestDatabase,
  handled,
  lockWaiters,
  outboxDrained,
  queryCount,
  sessionsWaitingForLock,
  waitFor,
  type SqlQueryable,
  type TestDatabase,
} from '../src';

describe('database probes', () => {
  let database: TestDatabase;
  const clients: Client[] = [];
  let db: SqlQueryable;

  const session = async (): Promise<Client> => {
    const client = new Client({ connectionString: database.url });
    await client.connect();
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    database = await createTestDatabase('database-probes');
    const client = await session();
    // Queried as TypeORM's DataSource is: the result is the rows.
    db = { query: async (sql, parameters) => (await client.query(sql, parameters)).rows };
    await db.query(`CREATE TABLE messaging_inbox (consumer text, message_id text)`);
    await db.query(`CREATE TABLE messaging_outbox (id int PRIMARY KEY)`);
    await db.query(`CREATE TABLE things (id int PRIMARY KEY)`);
    await db.query(`INSERT INTO things VALUES (1), (2), (3)`);
  });

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.end().catch(() => undefined)));
    await database?.drop();
  });

  it('counts with queryCount', async () => {
    expect(await queryCount(db, `SELECT count(*) n FROM things WHERE id > $1`, [1])).toBe(2);
  });

  it('resolves handled once the inbox holds the event, and outboxDrained once the outbox is empty', async () => {
    let inboxed = false;
    const handling = handled(db, 'inventory.reserve', 'e-1').then(() => inboxed);
    await db.query(`INSERT INTO messaging_outbox VALUES (1)`);
    let emptied = false;
    const draining = outboxDrained(db).then(() => emptied);

    inboxed = true;
    await db.query(`INSERT INTO messaging_inbox VALUES ('inventory.reserve', 'e-1')`);
    expect(await handling).toBe(true);
    emptied = true;
    await db.query(`DELETE FROM messaging_outbox`);
    expect(await draining).toBe(true);
  });

  it('sees the sessions waiting for a lock, all of them or those in one statement', async () => {
    const holder = await session();
    const waiter = await session();
    await holder.query('BEGIN');
    await holder.query(`SELECT 1 FROM things WHERE id = 1 FOR UPDATE`);
    const waiting = waiter.query(`UPDATE things SET id = id WHERE id = 1`);
    try {
      await lockWaiters(db);
      expect(await sessionsWaitingForLock(db)).toBe(1);
      expect(await sessionsWaitingForLock(db, 'UPDATE things SET')).toBe(1);
      expect(await sessionsWaitingForLock(db, 'DELETE FROM things')).toBe(0);
    } finally {
      await holder.query('COMMIT');
    }
    await waiting;
    await waitFor(async () => (await sessionsWaitingForLock(db)) === 0, { description: 'no session waiting' });
  });
});

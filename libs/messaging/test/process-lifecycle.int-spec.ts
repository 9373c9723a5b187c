import { join } from 'node:path';
import {
  createTestDatabase,
  createTestVhost,
  spawnNodeProcess,
  waitFor,
  type TestBroker,
  type TestDatabase,
} from '@shop/testing';
import { Client } from 'pg';
import { orderPlaced, wire, wireProperties } from './support/events';
import { RawBroker } from './support/harness';
import { STOCK_QUEUE } from './support/stock-handler';

const fixture = join(__dirname, 'fixtures', 'messaging-process.ts');

describe('a service process that dies or is stopped', () => {
  let broker: TestBroker;
  let database: TestDatabase;
  let raw: RawBroker;
  let db: Client;

  beforeAll(async () => {
    [broker, database] = await Promise.all([createTestVhost('lifecycle'), createTestDatabase('lifecycle')]);
    raw = await RawBroker.open(broker.url);
    db = new Client({ connectionString: database.url });
    await db.connect();
  });

  afterAll(async () => {
    await db?.end();
    await raw?.close();
    await Promise.all([broker?.delete(), database?.drop()]);
  });

  const start = (mode: string, extra: Record<string, string> = {}) =>
    spawnNodeProcess(fixture, {
      name: mode,
      env: { MODE: mode, BROKER_URL: broker.url, DATABASE_URL: database.url, ...extra },
    });

  const count = async (sql: string, params: unknown[] = []) => Number((await db.query(sql, params)).rows[0].n);

  it('gets an event out after restart when the process was killed between the outbox commit and the publish', async () => {
    const tap = await raw.tapDurable('lifecycle-order-placed', 'orders', 'order.placed');
    const crashing = start('crash-after-commit');
    await crashing.waitForOutput(/committed (\S+)/, 30_000);
    const [, eventId] = /committed (\S+)/.exec(crashing.output()) ?? [];
    const { signal } = await crashing.exited;
    expect(signal).toBe('SIGKILL');

    // Dead after the commit: the event is in the outbox and nowhere else.
    expect(await count(`SELECT count(*) n FROM messaging_outbox WHERE id = $1`, [eventId])).toBe(1);
    expect(await raw.messageCount(tap)).toBe(0);

    const restarted = start('serve');
    try {
      await restarted.waitForOutput(/ready/, 30_000);
      const [message] = await waitFor(
        async () => {
          const got = await raw.drain(tap);
          return got.length ? got : undefined;
        },
        { timeoutMs: 10_000, description: 'the event published after restart' },
      );
      expect(message.properties.messageId).toBe(eventId);
      await waitFor(
        async () => (await count(`SELECT count(*) n FROM messaging_outbox WHERE id = $1`, [eventId])) === 0,
        {
          description: 'its outbox row deleted once confirmed',
        },
      );
    } finally {
      restarted.kill('SIGTERM');
      await restarted.exited;
    }
  });

  it('on SIGTERM stops taking deliveries, finishes the handlers in flight, publishes their events, and exits cleanly', async () => {
    const tap = await raw.tapDurable('lifecycle-inventory-reserved', 'inventory', 'inventory.reserved');
    const service = start('serve', { HOLD_MS: '1500' });
    await service.waitForOutput(/ready/, 30_000);

    const inFlight = [orderPlaced(), orderPlaced(), orderPlaced()];
    for (const event of inFlight)
      await raw.publish('orders', 'order.placed', wire(event), wireProperties(event, 'orders'));
    await waitFor(() => (service.output().match(/handling /g) ?? []).length === 3, {
      description: 'three handlers in flight',
    });

    service.kill('SIGTERM');
    await service.waitForOutput(/stopped consuming; finishing 3 handler\(s\) in flight/, 5000);
    const late = orderPlaced();
    await raw.publish('orders', 'order.placed', wire(late), wireProperties(late, 'orders'));
    const exit = await service.exited;
    // Nest re-raises the signal once its shutdown hooks are done: a clean exit is by SIGTERM, after this line.
    expect(service.output()).toMatch(/messaging stopped/);
    expect(exit.code === 0 || exit.signal === 'SIGTERM').toBe(true);

    // The three in flight were committed and acknowledged, and their events went out before exit.
    const ids = inFlight.map((e) => e.data.orderId);
    expect(await count(`SELECT count(*) n FROM test_reservations WHERE order_id = ANY($1::uuid[])`, [ids])).toBe(3);
    expect(await count(`SELECT count(*) n FROM messaging_outbox WHERE subject = ANY($1)`, [ids])).toBe(0);
    const published = (await raw.drain(tap)).filter((m) => ids.includes(String(m.properties.correlationId)));
    expect(published).toHaveLength(3);
    // The late one was not taken: it waits in the queue for the next replica.
    expect(await count(`SELECT count(*) n FROM test_reservations WHERE order_id = $1`, [late.data.orderId])).toBe(0);
    expect(await raw.messageCount(STOCK_QUEUE)).toBe(1);
  });
});

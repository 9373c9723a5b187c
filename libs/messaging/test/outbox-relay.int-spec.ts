import { randomUUID } from 'node:crypto';
import { OrderConfirmed, OrderPlaced, PaymentCaptured, parseEnvelope } from '@shop/contracts';
import { createTestDatabase, createTestVhost, waitFor, type TestBroker, type TestDatabase } from '@shop/testing';
import { ARCHIVE_STREAM } from '../src';
import type { ConfirmPublisher } from '../src/lib/broker/confirm-publisher';
import { RawBroker, sleep, startApp, type RunningApp } from './support/harness';

const placed = (orderId = randomUUID()) =>
  OrderPlaced.create({ orderId, customerId: 'c-1', items: [{ sku: 'SKU-1', quantity: 2 }], paymentToken: 'tok_visa' });

describe('outbox relay', () => {
  let broker: TestBroker;
  let database: TestDatabase;
  let raw: RawBroker;
  let orders: RunningApp;

  beforeAll(async () => {
    [broker, database] = await Promise.all([createTestVhost('outbox'), createTestDatabase('outbox')]);
    // A poll interval of a minute: anything that arrives sooner was kicked by the commit itself.
    orders = await startApp({
      app: 'orders',
      brokerUrl: broker.url,
      databaseUrl: database.url,
      messaging: { outbox: { pollIntervalMs: 60_000, unroutableAllowed: ['order.confirmed'] } },
    });
  });

  // Each test's tap queues are exclusive: they go with its connection, so tests never see each other's bindings.
  beforeEach(async () => {
    raw = await RawBroker.open(broker.url);
  });
  afterEach(async () => {
    await raw.close();
  });

  afterAll(async () => {
    await orders?.close();
    await Promise.all([broker?.delete(), database?.drop()]);
  });

  const outboxRows = async (app: RunningApp) =>
    Number((await app.dataSource.query(`SELECT count(*) AS n FROM messaging_outbox`))[0].n);

  it('publishes a committed event at once, as a persistent CloudEvent with its AMQP properties, then deletes the row', async () => {
    const tap = await raw.tap('orders', 'order.placed');
    const event = placed();
    await orders.outbox.transaction((tx) => orders.outbox.publish(tx, event));

    const [message] = await waitFor(
      async () => {
        const got = await raw.drain(tap);
        return got.length > 0 ? got : undefined;
      },
      { timeoutMs: 3000, description: 'order.placed on the tap queue' },
    );

    expect(message.properties).toMatchObject({
      messageId: event.id,
      type: 'order.placed',
      appId: 'orders',
      deliveryMode: 2,
      contentType: 'application/cloudevents+json',
      correlationId: event.data.orderId,
    });
    expect(message.properties.headers?.['traceparent']).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    const body = parseEnvelope(message.content);
    expect(body).toMatchObject({ specversion: '1.0', id: event.id, type: 'order.placed', subject: event.data.orderId });
    expect(body.traceparent).toBe(message.properties.headers?.['traceparent']);
    await waitFor(async () => (await outboxRows(orders)) === 0, { description: 'outbox emptied' });
  });

  it('publishes nothing when the transaction rolls back', async () => {
    const tap = await raw.tap('orders', 'order.placed');
    await expect(
      orders.outbox.transaction(async (tx) => {
        await orders.outbox.publish(tx, placed());
        throw new Error('business rule failed');
      }),
    ).rejects.toThrow('business rule failed');
    await orders.messaging.flushOutbox();
    expect(await raw.messageCount(tap)).toBe(0);
    expect(await outboxRows(orders)).toBe(0);
  });

  it('publishes the events of a nested transaction (a savepoint) when the outermost one commits, none of one rolled back', async () => {
    const tap = await raw.tap('orders', 'order.placed');
    const [released, rolledBack, outer, ofRolledBackOuter] = [placed(), placed(), placed(), placed()];
    let beforeCommit = -1;
    await orders.outbox.transaction(async (tx) => {
      await tx.transaction((inner) => orders.outbox.publish(inner, released));
      await tx
        .transaction(async (inner) => {
          await orders.outbox.publish(inner, rolledBack);
          throw new Error('the savepoint rolls back');
        })
        .catch(() => undefined);
      await orders.outbox.publish(tx, outer);
      // The savepoint was released, the transaction is still open: nothing is out yet.
      await sleep(300);
      beforeCommit = await raw.messageCount(tap);
    });
    await expect(
      orders.outbox.transaction(async (tx) => {
        await tx.transaction((inner) => orders.outbox.publish(inner, ofRolledBackOuter));
        throw new Error('the outer transaction rolls back');
      }),
    ).rejects.toThrow('the outer transaction rolls back');

    expect(beforeCommit).toBe(0);
    const received: string[] = [];
    await waitFor(
      async () => {
        received.push(...(await raw.drain(tap)).map((m) => String(m.properties.messageId)));
        return received.length >= 2;
      },
      { description: 'the two committed events' },
    );
    await orders.messaging.flushOutbox();
    received.push(...(await raw.drain(tap)).map((m) => String(m.properties.messageId)));
    expect(received.sort()).toEqual([released.id, outer.id].sort());
    const rows = await orders.dataSource.query(`SELECT id FROM messaging_outbox WHERE id = ANY($1::uuid[])`, [
      [rolledBack.id, ofRolledBackOuter.id],
    ]);
    expect(rows).toEqual([]);
  });

  it("refuses to publish outside a transaction or another app's event", async () => {
    await expect(orders.outbox.publish(orders.dataSource.manager, placed())).rejects.toThrow(/open transaction/);
    const foreign = PaymentCaptured.create({
      orderId: randomUUID(),
      paymentId: randomUUID(),
      amount: 1,
      currency: 'USD',
    });
    await expect(orders.outbox.transaction((tx) => orders.outbox.publish(tx, foreign))).rejects.toThrow(
      /belongs to payments/,
    );
  });

  // The event archive (shop.events, bound with # to every exchange) makes every event routable: an event
  // no consumer queue takes is archived, and a consumer deployed later starts from its queue's creation.
  // Without the archive (a broker whose definitions lack it, or a user that may not declare it), an
  // event stays in the outbox until a queue is bound, as here.
  describe('on a broker without the event archive', () => {
    beforeAll(async () => {
      const admin = await RawBroker.open(broker.url);
      await admin.channel.deleteQueue(ARCHIVE_STREAM);
      await admin.close();
    });

    it('keeps an unroutable event in the outbox, reported, and delivers it once a queue is bound', async () => {
      const event = placed();
      // Nothing is bound to the orders exchange yet: the broker returns the mandatory message.
      await orders.outbox.transaction((tx) => orders.outbox.publish(tx, event));

      const row = await waitFor(
        async () => {
          const [r] = await orders.dataSource.query(`SELECT attempts, last_error FROM messaging_outbox WHERE id = $1`, [
            event.id,
          ]);
          return r && r.attempts > 0 ? r : undefined;
        },
        { description: 'a failed publish attempt recorded' },
      );
      expect(row.last_error).toMatch(/unroutable/);

      const tap = await raw.tap('orders', 'order.placed');
      await orders.dataSource.query(`UPDATE messaging_outbox SET next_attempt_at = now()`);
      await orders.messaging.flushOutbox();
      const got = await waitFor(
        async () => {
          const messages = await raw.drain(tap);
          return messages.length ? messages : undefined;
        },
        { description: 'the kept event delivered' },
      );
      expect(got.map((m) => m.properties.messageId)).toEqual([event.id]);
      expect(await outboxRows(orders)).toBe(0);
    });

    it('lets an event type declared unroutableAllowed go unheard: confirmed and removed, not retried', async () => {
      const event = OrderConfirmed.create({ orderId: randomUUID(), customerId: 'c-1', total: 100, currency: 'USD' });
      const kept = placed();
      await orders.outbox.transaction(async (tx) => {
        await orders.outbox.publish(tx, event);
        await orders.outbox.publish(tx, kept);
      });

      await waitFor(
        async () =>
          (await orders.dataSource.query(`SELECT 1 FROM messaging_outbox WHERE id = $1`, [event.id])).length === 0,
        { description: 'the unheard order.confirmed removed from the outbox' },
      );
      // The same moment, order.placed (not allowed to go unheard) stays for a later attempt.
      const [row] = await orders.dataSource.query(`SELECT attempts FROM messaging_outbox WHERE id = $1`, [kept.id]);
      expect(row).toBeDefined();
      await orders.dataSource.query(`DELETE FROM messaging_outbox`);
    });
  });

  it('relays every event exactly once with two replicas committing and relaying side by side', async () => {
    const second = await startApp({ app: 'orders', brokerUrl: broker.url, databaseUrl: database.url });
    try {
      const tap = await raw.tap('orders', 'order.placed');
      const events = Array.from({ length: 300 }, () => placed());
      // Ten transactions committed on both replicas at once: both relays race for the same rows.
      await Promise.all(
        Array.from({ length: 10 }, (_, i) => {
          const replica = i % 2 ? orders : second;
          return replica.outbox.transaction(async (tx) => {
            for (const event of events.slice(i * 30, i * 30 + 30)) await replica.outbox.publish(tx, event);
          });
        }),
      );
      await Promise.all([orders.messaging.flushOutbox(), second.messaging.flushOutbox()]);
      const received: string[] = [];
      await waitFor(
        async () => {
          received.push(...(await raw.drain(tap)).map((m) => String(m.properties.messageId)));
          return received.length >= events.length;
        },
        { timeoutMs: 15_000, description: '300 events' },
      );
      expect(new Set(received).size).toBe(events.length);
      expect(received.length).toBe(events.length);
      expect(await outboxRows(orders)).toBe(0);
    } finally {
      await second.close();
    }
  });
  // The lease protects a row from the other replicas while the process that committed it publishes it;
  // once that process has handed the row to the broker, the row is its own until deleted, however long
  // the broker takes to confirm or the database to take the DELETE: sent again, it would be a second
  // copy in every queue and in the archive.
  describe('a row handed to the broker, past its lease', () => {
    const LEASE_MS = 200;
    let db: TestDatabase;
    let vhost: TestBroker;
    let app: RunningApp;
    let tapRaw: RawBroker;

    beforeAll(async () => {
      [vhost, db] = await Promise.all([createTestVhost('outbox-held'), createTestDatabase('outbox-held')]);
      app = await startApp({
        app: 'orders',
        brokerUrl: vhost.url,
        databaseUrl: db.url,
        messaging: { outbox: { pollIntervalMs: 50, leaseMs: LEASE_MS } },
      });
      tapRaw = await RawBroker.open(vhost.url);
    });
    afterAll(async () => {
      await tapRaw?.close();
      await app?.close();
      await Promise.all([vhost?.delete(), db?.drop()]);
    });

    const publishFive = async () => {
      const events = Array.from({ length: 5 }, () => placed());
      await app.outbox.transaction(async (tx) => {
        for (const event of events) await app.outbox.publish(tx, event);
      });
      return events.map((event) => event.id);
    };

    it('is published once while the database refuses its DELETE, and deleted once it takes it (by the fast path or the poll)', async () => {
      const tap = await tapRaw.tap('orders', 'order.placed');
      await app.dataSource.query(`
        CREATE TABLE test_refuse_deletes (refuse boolean NOT NULL);
        INSERT INTO test_refuse_deletes VALUES (true);
        CREATE FUNCTION test_refuse_delete() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN
            IF (SELECT refuse FROM test_refuse_deletes) THEN RAISE EXCEPTION 'the test refuses deletes'; END IF;
            RETURN OLD;
          END $$;
        CREATE TRIGGER test_refuse_delete BEFORE DELETE ON messaging_outbox
          FOR EACH ROW EXECUTE FUNCTION test_refuse_delete();`);
      try {
        const ids = await publishFive();
        // And a row its process left behind (it died after the commit): due at once, the poll's to publish.
        const orphan = randomUUID();
        await app.dataSource.query(
          `INSERT INTO messaging_outbox (id, exchange, routing_key, body, subject, traceparent, tracestate)
           SELECT $1, exchange, routing_key, body, subject, traceparent, tracestate FROM messaging_outbox LIMIT 1`,
          [orphan],
        );
        ids.push(orphan);
        const received: string[] = [];
        const drain = async () =>
          received.push(...(await tapRaw.drain(tap)).map((m) => String(m.properties.messageId)));
        await waitFor(async () => (await drain(), received.length >= ids.length), { description: 'six events' });
        // Ten leases of refused DELETEs, the poll running every 50 ms.
        await sleep(10 * LEASE_MS);
        await drain();
        expect(await outboxRows(app)).toBe(ids.length);
        expect(received.sort()).toEqual([...ids].sort());

        await app.dataSource.query(`UPDATE test_refuse_deletes SET refuse = false`);
        await waitFor(async () => (await outboxRows(app)) === 0, { timeoutMs: 10_000, description: 'rows deleted' });
        await sleep(2 * LEASE_MS);
        await drain();
        expect(received.sort()).toEqual([...ids].sort());
      } finally {
        await app.dataSource.query(`
          DROP TRIGGER IF EXISTS test_refuse_delete ON messaging_outbox;
          DROP FUNCTION IF EXISTS test_refuse_delete();
          DROP TABLE IF EXISTS test_refuse_deletes;`);
      }
    });

    it('is published once when its confirm comes after the lease', async () => {
      const tap = await tapRaw.tap('orders', 'order.placed');
      // A broker that answers late: each confirm reaches the relay a second (five leases) after it came.
      const publisher = (app.messaging as unknown as { publisher: ConfirmPublisher }).publisher;
      const publishThen = publisher.publishThen.bind(publisher);
      publisher.publishThen = (exchange, routingKey, content, options, done) =>
        publishThen(exchange, routingKey, content, options, (error) => setTimeout(() => done(error), 5 * LEASE_MS));
      try {
        const ids = await publishFive();
        await waitFor(async () => (await outboxRows(app)) === 0, { timeoutMs: 10_000, description: 'rows deleted' });
        await sleep(2 * LEASE_MS);
        const received = (await tapRaw.drain(tap)).map((m) => String(m.properties.messageId));
        expect(received.sort()).toEqual([...ids].sort());
      } finally {
        publisher.publishThen = publishThen;
      }
    });
  });
});

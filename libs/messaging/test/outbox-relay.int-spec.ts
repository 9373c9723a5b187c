import { randomUUID } from 'node:crypto';
import { OrderConfirmed, OrderPlaced, PaymentCaptured, parseEnvelope } from '@shop/contracts';
import { createTestDatabase, createTestVhost, waitFor, type TestBroker, type TestDatabase } from '@shop/testing';
import { ARCHIVE_STREAM } from '../src';
import { RawBroker, startApp, type RunningApp } from './support/harness';

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
});

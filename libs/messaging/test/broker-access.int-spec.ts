import { randomBytes, randomUUID } from 'node:crypto';
import type { Channel } from 'amqplib';
import { APP_NAMES, type AppName } from '@shop/contracts';
import { createTestDatabase, createTestVhost, waitFor, type TestBroker, type TestDatabase } from '@shop/testing';
import { brokerUser, MessagingHeaders } from '../src';
import { orderPlaced, wire, wireProperties } from './support/events';
import { definitionsWithImpersonator, RawBroker } from './support/harness';
import { type Probe, STOCK_QUEUE, startStockApp, type StockApp } from './support/stock-handler';

/**
 * The generated least-privilege users on a real broker: what each app may and may not do, and that
 * a consumer dead-letters events whose AMQP user-id is not the user of the event type's owner.
 */
describe('broker access generated from the contracts', () => {
  let broker: TestBroker;
  let database: TestDatabase;
  let prefix: string;
  const passwords = Object.fromEntries(APP_NAMES.map((app) => [app, randomBytes(12).toString('hex')])) as Record<
    AppName,
    string
  >;
  const urlOf = (app: AppName) => broker.urlAs(brokerUser(app, prefix), passwords[app]);
  let inventory: StockApp;
  let probe: Probe;
  let admin: RawBroker;
  const opened: RawBroker[] = [];
  const as = async (url: string) => {
    const client = await RawBroker.open(url);
    opened.push(client);
    return client;
  };

  beforeAll(async () => {
    [broker, database] = await Promise.all([createTestVhost('broker access'), createTestDatabase('broker_access')]);
    prefix = `${broker.vhost}-`;
    const definitions = definitionsWithImpersonator(broker.vhost, passwords, prefix);
    await broker.addUsers(definitions);

    inventory = await startStockApp({ brokerUrl: urlOf('inventory'), databaseUrl: database.url });
    probe = inventory.probe;
    admin = await as(broker.url);
  });

  afterAll(async () => {
    await inventory?.close();
    await Promise.all(opened.map((client) => client.close()));
    await Promise.all([broker?.delete(), database?.drop()]);
  });

  beforeEach(() => probe.reset());

  /** What the broker answers to `action` on a fresh channel of `client`: 'ok' or its refusal. */
  async function attempt(client: RawBroker, action: (channel: Channel) => Promise<unknown>): Promise<string> {
    const channel = await client.spareChannel();
    const closed = new Promise<string>((resolve) => channel.once('close', () => resolve('closed')));
    const errored = new Promise<string>((resolve) => channel.once('error', (err: Error) => resolve(err.message)));
    try {
      await action(channel);
      await channel.close();
      return 'ok';
    } catch (err) {
      return (await Promise.race([errored, closed.then(() => (err as Error).message)])) || (err as Error).message;
    }
  }

  const publishing = (exchange: string, routingKey: string, userId?: string) => async (channel: Channel) => {
    const confirm = channel as unknown as import('amqplib').ConfirmChannel;
    const event = orderPlaced();
    channel.publish(exchange, routingKey, wire(event), { ...wireProperties(event, 'test'), userId });
    // A refused publish closes the channel, which fails this wait for confirms.
    if ('waitForConfirms' in confirm) await confirm.waitForConfirms();
    else await channel.checkExchange(exchange);
  };

  it("lets each app publish its own events, and refuses the payments user another app's events", async () => {
    const payments = await as(urlOf('payments'));
    const user = brokerUser('payments', prefix);
    expect(await attempt(payments, publishing('payments', 'payment.captured', user))).toBe('ok');
    // Not its exchange (write permission) ...
    expect(await attempt(payments, publishing('orders', 'order.confirmed', user))).toMatch(
      /ACCESS_REFUSED.*exchange 'orders'/,
    );
    // ... nor that routing key on its own exchange (topic permission).
    expect(await attempt(payments, publishing('payments', 'order.confirmed', user))).toMatch(
      /ACCESS_REFUSED.*order\.confirmed/,
    );
  });

  it('refuses a user-id that is not the connection’s own', async () => {
    const payments = await as(urlOf('payments'));
    expect(await attempt(payments, publishing('payments', 'payment.captured', brokerUser('orders', prefix)))).toMatch(
      /PRECONDITION_FAILED.*user_id/,
    );
  });

  it("refuses the payments user another app's queues: binding, consuming, declaring, deleting", async () => {
    const payments = await as(urlOf('payments'));
    expect(await attempt(payments, (ch) => ch.bindQueue(STOCK_QUEUE, 'payments', 'payment.captured'))).toMatch(
      /ACCESS_REFUSED.*queue/,
    );
    expect(await attempt(payments, (ch) => ch.consume(STOCK_QUEUE, () => undefined))).toMatch(/ACCESS_REFUSED/);
    expect(await attempt(payments, (ch) => ch.deleteQueue(STOCK_QUEUE))).toMatch(/ACCESS_REFUSED/);
    expect(await attempt(payments, (ch) => ch.assertQueue('inventory.intruder', { durable: true }))).toMatch(
      /ACCESS_REFUSED/,
    );
    expect(await attempt(payments, (ch) => ch.assertExchange('orders', 'topic', { durable: true }))).toMatch(
      /ACCESS_REFUSED/,
    );
  });

  it('lets the payments user bind its own queues only to the events its contracts say it consumes', async () => {
    const payments = await as(urlOf('payments'));
    const queue = `payments.probe-${randomUUID().slice(0, 8)}`;
    expect(await attempt(payments, (ch) => ch.assertQueue(queue, { exclusive: true }))).toBe('ok');
    const bind = (exchange: string, key: string) => (ch: Channel) =>
      ch.assertQueue(queue, { exclusive: true }).then(() => ch.bindQueue(queue, exchange, key));
    // Exclusive queues belong to their connection: declare and bind on the same one.
    expect(await attempt(payments, bind('orders', 'order.placed'))).toBe('ok');
    expect(await attempt(payments, bind('orders', 'order.confirmed'))).toMatch(/ACCESS_REFUSED.*order\.confirmed/);
    expect(await attempt(payments, bind('orders', '#'))).toMatch(/ACCESS_REFUSED/);
    expect(await attempt(payments, bind('notifications', 'notification.sent'))).toMatch(
      /ACCESS_REFUSED.*notifications/,
    );
  });

  describe('a consumer', () => {
    const dlq = `${STOCK_QUEUE}.dlq`;
    const reservations = (orderId: string) => inventory.reservations(orderId);
    const deadLetters = (count: number) =>
      waitFor(
        async () => {
          const n = await admin.messageCount(dlq);
          return n >= count ? admin.drain(dlq) : undefined;
        },
        { timeoutMs: 10_000, description: `${count} message(s) in ${dlq}` },
      );

    it('handles order.placed published by the orders user', async () => {
      const orders = await as(urlOf('orders'));
      const event = orderPlaced();
      await orders.publish('orders', 'order.placed', wire(event), {
        ...wireProperties(event, 'orders'),
        userId: brokerUser('orders', prefix),
      });
      await waitFor(async () => (await reservations(event.data.orderId)) === 1, { description: 'the reservation' });
    });

    it('dead-letters order.placed with no user-id, and changes nothing', async () => {
      const event = orderPlaced();
      await admin.publish('orders', 'order.placed', wire(event), wireProperties(event, 'orders'));
      const [dead] = await deadLetters(1);
      expect(dead.properties.headers?.[MessagingHeaders.reason]).toBe('unauthenticated-producer');
      expect(String(dead.properties.headers?.[MessagingHeaders.error])).toMatch(/user-id is missing/);
      expect(await reservations(event.data.orderId)).toBe(0);
      expect(probe.calls).toHaveLength(0);
    });

    it('dead-letters order.placed whose user-id is forged (the payments user), and changes nothing', async () => {
      const forger = await as(broker.urlAs(`${prefix}impersonator`, 'impersonator'));
      const event = orderPlaced();
      await forger.publish('orders', 'order.placed', wire(event), {
        ...wireProperties(event, 'orders'),
        userId: brokerUser('payments', prefix),
      });
      const [dead] = await deadLetters(1);
      expect(dead.properties.headers?.[MessagingHeaders.reason]).toBe('unauthenticated-producer');
      expect(dead.properties.headers?.[MessagingHeaders.originalUserId]).toBe(brokerUser('payments', prefix));
      expect(await reservations(event.data.orderId)).toBe(0);
      expect(probe.calls).toHaveLength(0);
    });

    it('takes back its own retries (its user, through its retry exchange) and handles them', async () => {
      const orders = await as(urlOf('orders'));
      probe.failWith = (call) => (call.attempt === 1 ? new Error('transient') : undefined);
      const event = orderPlaced();
      await orders.publish('orders', 'order.placed', wire(event), {
        ...wireProperties(event, 'orders'),
        userId: brokerUser('orders', prefix),
      });
      await waitFor(async () => (await reservations(event.data.orderId)) === 1, {
        timeoutMs: 15_000,
        description: 'the reservation after one retry',
      });
      expect(probe.calls.map((call) => call.attempt)).toEqual([1, 2]);
      expect(await admin.messageCount(dlq)).toBe(0);
    });
  });
});

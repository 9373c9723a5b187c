import { randomUUID } from 'node:crypto';
import { OrderCancelled, OrderConfirmed, PaymentRefunded, type CloudEvent } from '@shop/contracts';
import { Outbox } from '@shop/messaging';
import {
  createTestDatabase,
  createTestVhost,
  EventTap,
  handled,
  lockWaiters,
  outboxDrained,
  waitFor,
  type TestBroker,
  type TestDatabase,
} from '@shop/testing';
import { NotificationsService } from '../src/notifications/notifications.service';
import { startNotificationsApp, type NotificationsApp } from './support/notifications-app';
import { openStream, type StreamClient } from './support/stream-client';

const QUEUES = {
  confirmed: 'notifications.customer-notifier.on-confirmed',
  cancelled: 'notifications.customer-notifier.on-cancelled',
  refunded: 'notifications.customer-notifier.on-refunded',
} as const;

const orderConfirmed = (orderId: string, customerId: string) =>
  OrderConfirmed.create({ orderId, customerId, total: 1234, currency: 'USD' });
const orderCancelled = (orderId: string, customerId: string) =>
  OrderCancelled.create({ orderId, customerId, reason: 'OUT_OF_STOCK', previousStatus: 'PENDING' });
const paymentRefunded = (orderId: string, customerId: string) =>
  PaymentRefunded.create({ orderId, paymentId: randomUUID(), customerId, amount: 1234, currency: 'USD' });

describe('one notification per order and kind', () => {
  let broker: TestBroker;
  let database: TestDatabase;
  let notifications: NotificationsApp;
  let events: EventTap;
  const streams: StreamClient[] = [];

  beforeAll(async () => {
    [broker, database] = await Promise.all([
      createTestVhost('notifications-once'),
      createTestDatabase('notifications_once'),
    ]);
    notifications = await startNotificationsApp({ brokerUrl: broker.url, databaseUrl: database.url });
    events = await EventTap.open(broker.url, 'notifications');
  });

  afterAll(async () => {
    for (const stream of streams) stream.close();
    await notifications?.close();
    await events?.close();
    await Promise.all([broker?.delete(), database?.drop()]);
  });

  const deliver = async (event: CloudEvent<{ orderId: string }>, queue: string) => {
    await events.publish(event);
    await handled(notifications.db, queue, event.id);
  };
  const rowsOf = (orderId: string) =>
    notifications.db.query(
      `SELECT id, type, customer_id, message FROM notifications WHERE order_id = $1 ORDER BY type`,
      [orderId],
    ) as Promise<{ id: string; type: string; customer_id: string; message: string }[]>;
  /** notification.sent events about the order, complete once the outbox is empty. */
  const sentFor = async (orderId: string) => {
    await outboxDrained(notifications.db);
    return events.about(orderId, 'notification.sent');
  };
  const duplicates = async (queue: string) =>
    (await notifications.messaging.metrics.duplicates.get()).values
      .filter((sample) => sample.labels['queue'] === queue)
      .reduce((sum, sample) => sum + sample.value, 0);
  const stream = async (customerId: string) => {
    const client = await openStream(notifications.url, customerId);
    streams.push(client);
    return client;
  };
  /**
   * What the customer's stream got about `orderId`, complete: a later notification of the customer
   * (another order's) is awaited first, and PostgreSQL delivers notifications in commit order.
   */
  const streamedFor = async (client: StreamClient, customerId: string, orderId: string) => {
    const later = randomUUID();
    await deliver(orderCancelled(later, customerId), QUEUES.cancelled);
    await waitFor(() => client.received.some((notification) => notification.orderId === later), {
      description: "the stream to get the customer's later notification",
    });
    return client.received.filter((notification) => notification.orderId === orderId);
  };

  it('notifies once when the same order.confirmed is delivered twice', async () => {
    const customerId = `customer-${randomUUID()}`;
    const orderId = randomUUID();
    const live = await stream(customerId);
    const confirmed = orderConfirmed(orderId, customerId);
    const before = await duplicates(QUEUES.confirmed);

    await deliver(confirmed, QUEUES.confirmed);
    await events.publish(confirmed);
    await waitFor(async () => (await duplicates(QUEUES.confirmed)) === before + 1, {
      description: 'the redelivery to be skipped as a duplicate',
    });

    const rows = await rowsOf(orderId);
    expect(rows).toEqual([
      {
        id: expect.any(String),
        type: 'ORDER_CONFIRMED',
        customer_id: customerId,
        message: `Your order ${orderId} is confirmed: $12.34 charged.`,
      },
    ]);
    const sent = await sentFor(orderId);
    expect(sent.map((event) => event.data)).toEqual([
      { orderId, notificationId: rows[0]?.id, customerId, kind: 'ORDER_CONFIRMED' },
    ]);
    const streamed = await streamedFor(live, customerId, orderId);
    expect(streamed).toEqual([expect.objectContaining({ id: rows[0]?.id, orderId, type: 'ORDER_CONFIRMED' })]);
  });

  it('notifies once when two order.confirmed events of one order are handled at the same time', async () => {
    const customerId = `customer-${randomUUID()}`;
    const orderId = randomUUID();
    const live = await stream(customerId);
    const service = notifications.app.get(NotificationsService);
    const outbox = notifications.app.get(Outbox);
    const notification = (message: string) => ({ customerId, orderId, type: 'ORDER_CONFIRMED' as const, message });

    // The first holds its new row uncommitted while the second tries to insert the same order and kind.
    let inserted!: () => void;
    const firstInserted = new Promise<void>((resolve) => (inserted = resolve));
    let commit!: () => void;
    const firstMayCommit = new Promise<void>((resolve) => (commit = resolve));
    const first = outbox.transaction(async (tx) => {
      await service.notify(tx, notification('first'));
      inserted();
      await firstMayCommit;
    });
    await firstInserted;
    const second = outbox.transaction((tx) => service.notify(tx, notification('second')));
    await lockWaiters(notifications.db);
    commit();
    await Promise.all([first, second]);

    expect(await rowsOf(orderId)).toEqual([expect.objectContaining({ type: 'ORDER_CONFIRMED', message: 'first' })]);
    expect(await sentFor(orderId)).toHaveLength(1);
    expect(await streamedFor(live, customerId, orderId)).toEqual([expect.objectContaining({ message: 'first' })]);
  });

  it('notifies once when several order.confirmed events of one order arrive together', async () => {
    const customerId = `customer-${randomUUID()}`;
    const orderId = randomUUID();
    const confirmations = Array.from({ length: 6 }, () => orderConfirmed(orderId, customerId));
    await Promise.all(confirmations.map((event) => events.publish(event)));
    for (const event of confirmations) await handled(notifications.db, QUEUES.confirmed, event.id);

    expect(await rowsOf(orderId)).toEqual([expect.objectContaining({ type: 'ORDER_CONFIRMED' })]);
    expect(await sentFor(orderId)).toHaveLength(1);
  });

  it('notifies once per kind: a confirmed, cancelled and refunded order gets one of each', async () => {
    const customerId = `customer-${randomUUID()}`;
    const orderId = randomUUID();
    await deliver(orderConfirmed(orderId, customerId), QUEUES.confirmed);
    await deliver(orderCancelled(orderId, customerId), QUEUES.cancelled);
    await deliver(paymentRefunded(orderId, customerId), QUEUES.refunded);
    await deliver(orderCancelled(orderId, customerId), QUEUES.cancelled);

    expect((await rowsOf(orderId)).map((row) => [row.type, row.message])).toEqual([
      ['ORDER_CANCELLED', `Your order ${orderId} was cancelled because some items are out of stock.`],
      ['ORDER_CONFIRMED', `Your order ${orderId} is confirmed: $12.34 charged.`],
      ['PAYMENT_REFUNDED', `We refunded $12.34 for your order ${orderId}.`],
    ]);
    const kinds = (await sentFor(orderId)).map((event) => (event.data as { kind: string }).kind);
    expect(kinds.sort()).toEqual(['ORDER_CANCELLED', 'ORDER_CONFIRMED', 'PAYMENT_REFUNDED']);

    const listed = (await (await fetch(`${notifications.url}/notifications?orderId=${orderId}`)).json()) as {
      type: string;
    }[];
    expect(listed.map((notification) => notification.type)).toEqual([
      'ORDER_CONFIRMED',
      'ORDER_CANCELLED',
      'PAYMENT_REFUNDED',
    ]);
  });
});

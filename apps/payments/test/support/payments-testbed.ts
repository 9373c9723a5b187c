import type { CloudEvent } from '@shop/contracts';
import {
  createTestDatabase,
  createTestVhost,
  EventTap,
  handled,
  outboxDrained,
  queryCount,
  type TestBroker,
  type TestDatabase,
} from '@shop/testing';
import { startPaymentsApp, type PaymentsApp } from './payments-app';
import { newOrderId, orderPlaced, QUEUES } from './saga-events';

/** What became of an order's payment: on the card (the provider's ledger), in payments' tables, on the broker. */
export interface PaymentOutcome {
  order: string | undefined;
  payments: { status: string; amount: number }[];
  charges: number;
  refunds: number;
  events: { captured: number; declined: number; refunded: number };
}

/**
 * The payments app of a test file, on a vhost and a database of its own (created before the file's
 * tests, deleted after them), with the rest of the saga played by the test through the broker.
 */
export function paymentsTestbed(label: string) {
  let broker: TestBroker;
  let database: TestDatabase;
  let app: PaymentsApp;
  let events: EventTap;

  beforeAll(async () => {
    [broker, database] = await Promise.all([createTestVhost(label), createTestDatabase(label)]);
    app = await startPaymentsApp({ brokerUrl: broker.url, databaseUrl: database.url });
    events = await EventTap.open(broker.url, 'payments');
  });

  afterEach(() => app?.provider.reset());

  afterAll(async () => {
    await app?.close();
    await events?.close();
    await Promise.all([broker?.delete(), database?.drop()]);
  });

  const testbed = {
    get app(): PaymentsApp {
      return app;
    },
    get events(): EventTap {
      return events;
    },

    /** Until the consumer of `queue` has committed its handling of `event`. */
    handled: (queue: string, event: CloudEvent) => handled(app.db, queue, event.id),

    async deliver(event: CloudEvent, queue: string): Promise<void> {
      await events.publish(event);
      await testbed.handled(queue, event);
    },

    /** A new order payments has seen placed, to be paid with `paymentToken`. */
    async placedOrder(paymentToken?: string): Promise<string> {
      const orderId = newOrderId();
      await testbed.deliver(orderPlaced(orderId, paymentToken), QUEUES.placed);
      return orderId;
    },

    /** Deliveries of `queue` the inbox recognised as already applied. */
    async duplicates(queue: string): Promise<number> {
      return (await app.messaging.metrics.duplicates.get()).values
        .filter((sample) => sample.labels['queue'] === queue)
        .reduce((sum, sample) => sum + sample.value, 0);
    },

    /** Read once the app is done with the order: its outbox is empty, so all it published is on the broker. */
    async outcome(orderId: string): Promise<PaymentOutcome> {
      const { db } = app;
      await outboxDrained(db);
      const [order] = (await db.query(`SELECT status FROM payment_orders WHERE order_id = $1`, [orderId])) as {
        status: string;
      }[];
      const rows = (await db.query(`SELECT status, amount FROM payments WHERE order_id = $1`, [orderId])) as {
        status: string;
        amount: string;
      }[];
      const ledger = (operation: string, key: string) =>
        queryCount(
          db,
          `SELECT count(*) n FROM provider_ledger
            WHERE idempotency_key = $1 AND operation = $2 AND outcome IN ('approved', 'refunded')`,
          [key, operation],
        );
      return {
        order: order?.status,
        payments: rows.map((row) => ({ status: row.status, amount: Number(row.amount) })),
        charges: await ledger('charge', `charge:${orderId}`),
        refunds: await ledger('refund', `refund:${orderId}`),
        events: {
          captured: (await events.about(orderId, 'payment.captured')).length,
          declined: (await events.about(orderId, 'payment.declined')).length,
          refunded: (await events.about(orderId, 'payment.refunded')).length,
        },
      };
    },
  };
  return testbed;
}

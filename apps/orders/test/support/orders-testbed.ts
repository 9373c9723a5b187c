import type { CloudEvent } from '@shop/contracts';
import {
  createTestDatabase,
  createTestVhost,
  EventTap,
  outboxDrained,
  type TestBroker,
  type TestDatabase,
} from '@shop/testing';
import { startOrders, type OrdersReplica } from './orders-app';

export interface OrdersTestbed {
  /** The replicas, all on the same vhost and database; `replica` is the first. */
  replicas: OrdersReplica[];
  replica: OrdersReplica;
  /** The events published about `orderId` so far, in order (every replica's outbox relayed first). */
  eventsOf(orderId: string): Promise<CloudEvent[]>;
  typesOf(orderId: string): Promise<string[]>;
}

/**
 * The orders app of a test file: `replicas` of it on a vhost and a database of the file's own
 * (created before its tests, deleted after them), and a subscriber to everything orders publishes.
 * Nothing else of the saga runs: the test plays inventory and payments.
 */
export function ordersTestbed(label: string, replicas = 1): OrdersTestbed {
  let vhost: TestBroker;
  let database: TestDatabase;
  let events: EventTap;
  const bed: OrdersTestbed = {
    replicas: [],
    get replica() {
      return bed.replicas[0];
    },
    // A row leaves the outbox (one table for every replica) once the broker confirmed it.
    async eventsOf(orderId) {
      await Promise.all(bed.replicas.map((replica) => replica.messaging.flushOutbox()));
      await outboxDrained(bed.replica.db);
      return events.about(orderId);
    },
    typesOf: async (orderId) => (await bed.eventsOf(orderId)).map((event) => event.type),
  };

  beforeAll(async () => {
    [vhost, database] = await Promise.all([createTestVhost(label), createTestDatabase(label)]);
    // One after the other: the first runs the migrations.
    for (let i = 0; i < replicas; i++) bed.replicas.push(await startOrders(vhost.url, database.url));
    events = await EventTap.open(vhost.url, 'orders');
  });

  afterAll(async () => {
    await Promise.all(bed.replicas.map((replica) => replica.close()));
    await events?.close();
    await Promise.all([vhost?.delete(), database?.drop()]);
  });

  return bed;
}

import {
  createTestDatabase,
  createTestVhost,
  EventTap,
  sessionsWaitingForLock,
  waitFor,
  type TestBroker,
  type TestDatabase,
} from '@shop/testing';
import { randomUUID } from 'node:crypto';
import {
  orderPlaced,
  reservationStatuses,
  startInventory,
  stockOf,
  stockProduct,
  type InventoryApp,
} from './support/inventory-app';

/**
 * What inventory guarantees when orders compete for the same stock, against a real PostgreSQL and
 * RabbitMQ: the real StockService in real transactions (the app's module and migrations), its events
 * read back from the broker.
 */
describe('stock reservation under concurrency', () => {
  let vhost: TestBroker;
  let database: TestDatabase;
  let inventory: InventoryApp;
  let tap: EventTap;

  beforeAll(async () => {
    [vhost, database] = await Promise.all([createTestVhost('inventory'), createTestDatabase('inventory')]);
    inventory = await startInventory(vhost.url, database.url);
    tap = await EventTap.open(vhost.url, 'inventory');
  });

  afterAll(async () => {
    await inventory?.close();
    await tap?.close();
    await Promise.all([vhost?.delete(), database?.drop()]);
  });

  const reserve = (orderId: string, sku: string, quantity: number) =>
    inventory.transaction((tx) => inventory.stock.reserve(tx, orderId, [{ sku, quantity }]));
  const sell = (orderId: string) => inventory.transaction((tx) => inventory.stock.sell(tx, orderId));
  const release = (orderId: string) => inventory.transaction((tx) => inventory.stock.release(tx, orderId));
  const newOrders = (n: number) => Array.from({ length: n }, () => randomUUID());
  /** Every event inventory published about the order, in order: complete, its outbox relayed first. */
  const publishedAbout = async (orderId: string) => {
    await inventory.relayed();
    return tap.about(orderId);
  };
  const typesAbout = async (orderId: string) => (await publishedAbout(orderId)).map((event) => event.type);

  it('reserves exactly the 3 units in stock when 20 orders of 1 race for them, and rejects the other 17', async () => {
    const sku = await stockProduct(inventory.db, 3);
    const orders = newOrders(20);
    // Through the broker: the order.placed handler takes 8 at a time, each in a transaction of its own.
    for (const orderId of orders) await tap.publish(orderPlaced(orderId, [{ sku, quantity: 1 }]));

    const statuses = await waitFor(
      async () => {
        const now = await reservationStatuses(inventory.db, orders);
        return now.every((status) => status === 'RESERVED' || status === 'REJECTED') && now;
      },
      { description: 'every order reserved or rejected', timeoutMs: 30_000 },
    );
    expect(statuses.filter((status) => status === 'RESERVED')).toHaveLength(3);
    expect(statuses.filter((status) => status === 'REJECTED')).toHaveLength(17);
    expect(await stockOf(inventory.db, sku)).toEqual({ available: 0, reserved: 3, sold: 0 });

    for (const [i, orderId] of orders.entries()) {
      const events = await publishedAbout(orderId);
      if (statuses[i] === 'RESERVED') {
        expect(events.map((event) => event.type)).toEqual(['inventory.reserved']);
        expect(events[0].data).toMatchObject({ lines: [{ sku, quantity: 1, unitPrice: 250 }], total: 250 });
      } else {
        expect(events.map((event) => event.type)).toEqual(['inventory.rejected']);
        expect(events[0].data).toMatchObject({
          reason: 'OUT_OF_STOCK',
          missing: [{ sku, requested: 1, available: 0 }],
        });
      }
    }
  });

  it('never deadlocks nor oversells when concurrent orders list the same two products in opposite orders', async () => {
    const [a, b] = [await stockProduct(inventory.db, 5), await stockProduct(inventory.db, 5)];
    const orders = newOrders(20);
    // Every call must succeed: a deadlock would fail one of them.
    await Promise.all(
      orders.map((orderId, i) => {
        const lines = [
          { sku: a, quantity: 1 },
          { sku: b, quantity: 1 },
        ];
        return inventory.transaction((tx) => inventory.stock.reserve(tx, orderId, i % 2 ? lines : lines.reverse()));
      }),
    );

    const statuses = await reservationStatuses(inventory.db, orders);
    expect(statuses.filter((status) => status === 'RESERVED')).toHaveLength(5);
    expect(statuses.filter((status) => status === 'REJECTED')).toHaveLength(15);
    expect(await stockOf(inventory.db, a)).toEqual({ available: 0, reserved: 5, sold: 0 });
    expect(await stockOf(inventory.db, b)).toEqual({ available: 0, reserved: 5, sold: 0 });
    for (const [i, orderId] of orders.entries()) {
      expect(await typesAbout(orderId)).toEqual([
        statuses[i] === 'RESERVED' ? 'inventory.reserved' : 'inventory.rejected',
      ]);
    }
  });

  it('leaves the stock as it was when every order is cancelled at the moment it is reserved', async () => {
    const sku = await stockProduct(inventory.db, 20);
    const orders = newOrders(20);
    await Promise.all(orders.flatMap((orderId) => [reserve(orderId, sku, 1), release(orderId)]));

    expect(await stockOf(inventory.db, sku)).toEqual({ available: 20, reserved: 0, sold: 0 });
    const statuses = await reservationStatuses(inventory.db, orders);
    for (const [i, orderId] of orders.entries()) {
      // Reserved then released, or cancelled before inventory saw it (then never reserved): nothing else.
      expect(['RELEASED', 'CANCELLED']).toContain(statuses[i]);
      expect(await typesAbout(orderId)).toEqual(
        statuses[i] === 'RELEASED' ? ['inventory.reserved', 'inventory.released'] : [],
      );
    }
  });

  it('releases an order once when its cancel arrives while its reservation waits for the stock', async () => {
    const sku = await stockProduct(inventory.db, 4);
    const orderId = randomUUID();
    // Another order's transaction holds the product: the reservation waits for it with its claim made.
    const other = inventory.db.createQueryRunner();
    await other.connect();
    await other.startTransaction();
    let reserving: Promise<void>;
    let releasing: Promise<void>;
    try {
      await other.query(`SELECT 1 FROM products WHERE sku = $1 FOR UPDATE`, [sku]);
      reserving = reserve(orderId, sku, 3);
      await waitFor(async () => (await sessionsWaitingForLock(inventory.db, 'FROM products WHERE sku = ANY')) === 1, {
        description: 'the reservation waiting for the product',
      });
      // The cancel queues behind the reservation's claim, not beside it.
      releasing = release(orderId);
      await waitFor(async () => (await sessionsWaitingForLock(inventory.db, `VALUES ($1, 'CANCELLED')`)) === 1, {
        description: "the cancel waiting for the reservation's claim",
      });
    } finally {
      await other.commitTransaction();
      await other.release();
    }
    await Promise.all([reserving, releasing]);

    expect(await reservationStatuses(inventory.db, [orderId])).toEqual(['RELEASED']);
    expect(await stockOf(inventory.db, sku)).toEqual({ available: 4, reserved: 0, sold: 0 });
    expect(await typesAbout(orderId)).toEqual(['inventory.reserved', 'inventory.released']);
  });

  it('never reserves an order whose cancel was seen before its order.placed', async () => {
    const sku = await stockProduct(inventory.db, 2);
    const orderId = randomUUID();
    await release(orderId);
    await reserve(orderId, sku, 1);
    await release(orderId);

    expect(await reservationStatuses(inventory.db, [orderId])).toEqual(['CANCELLED']);
    expect(await stockOf(inventory.db, sku)).toEqual({ available: 2, reserved: 0, sold: 0 });
    expect(await typesAbout(orderId)).toEqual([]);
  });

  it("returns a confirmed order's sold units to stock when it is cancelled, once however often each event comes", async () => {
    const sku = await stockProduct(inventory.db, 5);
    const orderId = randomUUID();

    // Every event delivered twice at the same moment (a redelivery racing the first copy).
    await Promise.all([reserve(orderId, sku, 2), reserve(orderId, sku, 2)]);
    expect(await stockOf(inventory.db, sku)).toEqual({ available: 3, reserved: 2, sold: 0 });
    await Promise.all([sell(orderId), sell(orderId)]);
    expect(await stockOf(inventory.db, sku)).toEqual({ available: 3, reserved: 0, sold: 2 });
    await Promise.all([release(orderId), release(orderId)]);
    expect(await stockOf(inventory.db, sku)).toEqual({ available: 5, reserved: 0, sold: 0 });

    expect(await reservationStatuses(inventory.db, [orderId])).toEqual(['RELEASED']);
    const events = await publishedAbout(orderId);
    expect(events.map((event) => event.type)).toEqual(['inventory.reserved', 'inventory.released']);
    expect(events[1].data).toEqual({ orderId, lines: [{ sku, quantity: 2 }] });
  });
});

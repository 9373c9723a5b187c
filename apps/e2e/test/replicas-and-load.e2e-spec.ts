import {
  APPS,
  createProduct,
  mapLimit,
  newCustomer,
  orderOf,
  sampleProduct,
  startSystem,
  waitForInvariants,
  type OrderLineRequest,
  type ShopClient,
  type System,
} from '../src/support';

/**
 * Two processes of every app competing for the same queues, under a burst: every order still ends
 * final, once, with its effects applied once; scarce stock is never oversold.
 */

const TEST_TIMEOUT = 240_000;

describe('two replicas of every app under a burst', () => {
  let system: System;
  let client: ShopClient;

  beforeAll(async () => {
    system = await startSystem({
      label: 'replicas',
      replicas: 2,
      env: { orders: { ORDER_TIMEOUT_MS: '600000' } },
    });
    client = system.client;
  }, 240_000);

  afterAll(() => system?.stop(), 90_000);

  it('runs two ready processes of each app', () => {
    for (const app of APPS) {
      expect([app, system.replicaCount(app), system.running(app, 0), system.running(app, 1)]).toEqual([
        app,
        2,
        true,
        true,
      ]);
    }
  });

  it(
    'brings a burst of 40 orders to a final state with every invariant holding and one notification per order and kind',
    async () => {
      const prices = [199, 1_000, 2_450, 75];
      const skus = await Promise.all(prices.map((price) => createProduct(client, 'burst', { available: 300, price })));
      const customers = Array.from({ length: 4 }, () => newCustomer('burst'));
      const requests = Array.from({ length: 40 }, (_, i) => {
        const lines: OrderLineRequest[] = [{ sku: skus[i % 4], quantity: 1 + (i % 3) }];
        if (i % 3 === 0) lines.push({ sku: skus[(i + 1) % 4], quantity: 1 + (i % 2) });
        return orderOf(customers[i % 4], lines, i % 5 === 0 ? 'tok_declined' : 'tok_visa');
      });

      // all at once, spread over both orders processes
      const placed = await Promise.all(requests.map(async (request) => (await client.placeOrder(request)).order));
      const final = await mapLimit(placed, 8, (order) => client.waitForFinal(order.id, { timeoutMs: 180_000 }));

      const outcome = final.map((order) => `${order.status}/${order.cancellationReason}`);
      const expected = requests.map((request) =>
        request.paymentToken === 'tok_declined' ? 'CANCELLED/PAYMENT_DECLINED' : 'CONFIRMED/null',
      );
      expect(outcome).toEqual(expected);
      for (const order of final.filter((o) => o.status === 'CONFIRMED')) {
        const expectedTotal = order.items.reduce(
          (sum, line) => sum + line.quantity * prices[skus.indexOf(line.sku)],
          0,
        );
        expect([order.id, order.total]).toEqual([order.id, expectedTotal]);
      }

      const snapshot = await waitForInvariants(
        client,
        { orderIds: placed.map((o) => o.id), stocked: Object.fromEntries(skus.map((sku) => [sku, 300])) },
        { timeoutMs: 60_000 },
      );
      // and per customer, as the customer sees them
      for (const customerId of customers) {
        const notifications = await client.notifications({ customerId });
        const keys = notifications.map((n) => `${n.orderId}/${n.type}`);
        expect(new Set(keys).size).toBe(keys.length);
        const theirs = snapshot.orders.filter((o) => o.customerId === customerId);
        expect(notifications.filter((n) => n.type !== 'ORDER_CONFIRMED' && n.type !== 'ORDER_CANCELLED')).toEqual([]);
        expect(keys.sort()).toEqual(
          theirs.map((o) => `${o.id}/${o.status === 'CONFIRMED' ? 'ORDER_CONFIRMED' : 'ORDER_CANCELLED'}`).sort(),
        );
      }
    },
    TEST_TIMEOUT,
  );

  it(
    'sells exactly the 10 available to 30 concurrent orders and rejects the other 20 OUT_OF_STOCK, never below zero',
    async () => {
      const sku = await createProduct(client, 'scarce', { available: 10, price: 500 });
      const watch = sampleProduct(client, sku, 20);
      const requests = Array.from({ length: 30 }, () => orderOf(newCustomer('scarce'), [[sku, 1]]));

      const placed = await Promise.all(requests.map(async (request) => (await client.placeOrder(request)).order));
      const final = await mapLimit(placed, 8, (order) => client.waitForFinal(order.id, { timeoutMs: 180_000 }));
      const snapshot = await waitForInvariants(
        client,
        { orderIds: placed.map((o) => o.id), stocked: { [sku]: 10 } },
        { timeoutMs: 60_000 },
      );
      const seen = await watch.stop();

      const count = (outcome: string) => final.filter((o) => `${o.status}/${o.cancellationReason}` === outcome).length;
      expect({
        confirmed: count('CONFIRMED/null'),
        outOfStock: count('CANCELLED/OUT_OF_STOCK'),
      }).toEqual({ confirmed: 10, outOfStock: 20 });
      expect(snapshot.products[0]).toMatchObject({ available: 0, reserved: 0 });
      expect(seen.minAvailable).toBeGreaterThanOrEqual(0);
      expect(seen.minReserved).toBeGreaterThanOrEqual(0);
      expect(seen.maxAvailable).toBeLessThanOrEqual(10);
    },
    TEST_TIMEOUT,
  );
});

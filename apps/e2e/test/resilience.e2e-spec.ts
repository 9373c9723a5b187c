import { waitFor } from '@shop/testing';
import {
  createProduct,
  mapLimit,
  newCustomer,
  orderOf,
  startSystem,
  waitForInvariants,
  type Order,
  type PlaceOrderRequest,
  type ShopClient,
  type System,
} from '../src/support';

/**
 * Failures the saga must absorb: a payment provider that fails half of its calls transiently, and
 * inventory and payments processes killed with SIGKILL mid-burst (their unacknowledged deliveries
 * come again after the restart: duplicate delivery, as HTTP cannot force it).
 */

const TEST_TIMEOUT = 240_000;

describe('resilience of the saga', () => {
  let system: System;
  let client: ShopClient;

  beforeAll(async () => {
    system = await startSystem({
      label: 'resilience',
      env: {
        payments: { PAYMENTS_TRANSIENT_FAILURE_RATE: '0.5' },
        // retries take their time: no order should be cancelled for slowness here
        orders: { ORDER_TIMEOUT_MS: '600000' },
      },
    });
    client = system.client;
  }, 180_000);

  afterAll(() => system?.stop(), 60_000);

  const finalOrders = (orders: Order[], timeoutMs: number) =>
    mapLimit(orders, 6, (order) => client.waitForFinal(order.id, { timeoutMs }));

  it(
    'confirms every order with exactly one capture when half of the provider calls fail transiently',
    async () => {
      const sku = await createProduct(client, 'flaky', { available: 100, price: 250 });
      const customerId = newCustomer('flaky');
      const requests = Array.from({ length: 10 }, (_, i) => orderOf(customerId, [[sku, 1 + (i % 3)]]));

      const placed = await mapLimit(requests, 5, async (request) => (await client.placeOrder(request)).order);
      const final = await finalOrders(placed, 180_000);

      expect(final.map((order) => [order.id, order.status, order.cancellationReason])).toEqual(
        placed.map((order) => [order.id, 'CONFIRMED', null]),
      );
      for (const order of final) {
        const payments = await client.payments(order.id);
        expect({
          order: order.id,
          captured: payments.filter((p) => p.status === 'CAPTURED').map((p) => p.amount),
        }).toEqual({
          order: order.id,
          captured: [order.total],
        });
        expect(payments.filter((p) => p.status !== 'CAPTURED')).toEqual([]);
      }
      await waitForInvariants(client, { orderIds: placed.map((o) => o.id), stocked: { [sku]: 100 } });
    },
    TEST_TIMEOUT,
  );

  it(
    'neither reserves twice nor charges twice when inventory and payments are killed -9 mid-burst and restarted',
    async () => {
      const skus = await Promise.all([
        createProduct(client, 'kill', { available: 200, price: 120 }),
        createProduct(client, 'kill', { available: 200, price: 340 }),
        createProduct(client, 'kill', { available: 200, price: 560 }),
      ]);
      const customerId = newCustomer('kill');
      const requests: PlaceOrderRequest[] = Array.from({ length: 24 }, (_, i) =>
        orderOf(
          customerId,
          i % 2
            ? [
                [skus[i % 3], 1 + (i % 4)],
                [skus[(i + 1) % 3], 1],
              ]
            : [[skus[i % 3], 2]],
        ),
      );

      let placedCount = 0;
      const placing = mapLimit(requests, 3, async (request) => {
        const { order } = await client.placeOrder(request);
        placedCount++;
        return order;
      });

      await waitFor(() => placedCount >= 6, { timeoutMs: 30_000, description: 'the burst to be under way' });
      expect((await system.kill('inventory')).signal).toBe('SIGKILL');
      const inventoryBack = system.startApp('inventory');

      await waitFor(() => placedCount >= 14, { timeoutMs: 30_000, description: 'the burst to go on' });
      await inventoryBack;
      // let payments take some deliveries, then kill it while it works
      await waitFor(
        async () => (await client.listOrders({ customerId, status: 'CONFIRMED' })).items.length >= 2 || undefined,
        { timeoutMs: 60_000, description: 'some orders to be confirmed' },
      );
      expect((await system.kill('payments')).signal).toBe('SIGKILL');
      await system.startApp('payments');

      const placed = await placing;
      const final = await finalOrders(placed, 180_000);
      expect(final.filter((order) => order.status !== 'CONFIRMED')).toEqual([]);
      await waitForInvariants(
        client,
        { orderIds: placed.map((o) => o.id), stocked: Object.fromEntries(skus.map((sku) => [sku, 200])) },
        { timeoutMs: 60_000 },
      );
    },
    TEST_TIMEOUT,
  );
});

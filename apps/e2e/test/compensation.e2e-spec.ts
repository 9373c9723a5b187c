import { waitFor } from '@shop/testing';
import {
  createProduct,
  expectNestError,
  newCustomer,
  orderOf,
  runSentinelOrder,
  startSystem,
  waitForInvariants,
  waitForProduct,
  type ShopClient,
  type System,
} from '../src/support';

/**
 * Cancellations while the saga is under way, with one app stopped to hold the order where the test
 * wants it: by the customer while PENDING, before inventory even saw the order, and by the timeout.
 * Whatever a late app does once it is back, no stock stays reserved and no money stays captured.
 */

const LONG_TIMEOUT_MS = 600_000;
const SHORT_TIMEOUT_MS = 1_500;
const TEST_TIMEOUT = 150_000;

describe('compensation of an order cancelled mid-saga', () => {
  let system: System;
  let client: ShopClient;

  beforeAll(async () => {
    system = await startSystem({
      label: 'compensation',
      env: { orders: { ORDER_TIMEOUT_MS: String(LONG_TIMEOUT_MS) } },
    });
    client = system.client;
  }, 180_000);

  afterAll(() => system?.stop(), 60_000);

  const productNow = (sku: string, expected: { available: number; reserved: number }) =>
    waitForProduct(client, sku, expected);

  it(
    'cancels a PENDING order at the customer request: stock released, and nothing left captured once payments is back',
    async () => {
      const sku = await createProduct(client, 'pending', { available: 5, price: 900 });
      const customerId = newCustomer('pending');
      await system.stopApp('payments');
      let orderId: string;
      try {
        const { order } = await client.placeOrder(orderOf(customerId, [[sku, 2]]));
        orderId = order.id;
        await productNow(sku, { available: 3, reserved: 2 });
        const priced = await waitFor(
          async () => {
            const current = await client.getOrder(order.id);
            return current.total !== null ? current : undefined;
          },
          { timeoutMs: 20_000, description: `order ${order.id} to be priced` },
        );
        expect(priced).toMatchObject({
          status: 'PENDING',
          total: 1_800,
          items: [{ sku, quantity: 2, unitPrice: 900 }],
        });

        expect((await client.cancel(order.id)).status).toBe(202);

        const cancelled = await client.waitForOrderStatus(order.id, 'CANCELLED');
        expect(cancelled.cancellationReason).toBe('CUSTOMER_REQUEST');
        await productNow(sku, { available: 5, reserved: 0 });
        await client.waitForNotification(order.id, 'ORDER_CANCELLED');
        expectNestError(await client.cancel(order.id), 409);
      } finally {
        await system.startApp('payments');
      }

      // payments now sees inventory.reserved and order.cancelled, in either order
      await runSentinelOrder(client);
      const { payments } = await waitForInvariants(client, { orderIds: [orderId], stocked: { [sku]: 5 } });
      expect(payments[orderId].filter((p) => p.status === 'CAPTURED')).toEqual([]);
      expect(await client.getOrder(orderId)).toMatchObject({
        status: 'CANCELLED',
        cancellationReason: 'CUSTOMER_REQUEST',
      });
    },
    TEST_TIMEOUT,
  );

  it(
    'leaves no stock reserved for an order cancelled before inventory saw it',
    async () => {
      const sku = await createProduct(client, 'race', { available: 4, price: 650 });
      await system.stopApp('inventory');
      let orderId: string;
      try {
        const { order } = await client.placeOrder(orderOf(newCustomer('race'), [[sku, 3]]));
        orderId = order.id;
        expect((await client.cancel(order.id)).status).toBe(202);
        const cancelled = await client.waitForOrderStatus(order.id, 'CANCELLED');
        expect(cancelled.cancellationReason).toBe('CUSTOMER_REQUEST');
      } finally {
        await system.startApp('inventory');
      }

      // inventory now sees order.placed and order.cancelled, in either order
      await runSentinelOrder(client);
      await productNow(sku, { available: 4, reserved: 0 });
      await waitForInvariants(client, { orderIds: [orderId], stocked: { [sku]: 4 } });
      expect(await client.getOrder(orderId)).toMatchObject({
        status: 'CANCELLED',
        cancellationReason: 'CUSTOMER_REQUEST',
      });
      await client.waitForNotification(orderId, 'ORDER_CANCELLED');
    },
    TEST_TIMEOUT,
  );

  it(
    `cancels an order still PENDING after ORDER_TIMEOUT_MS (${SHORT_TIMEOUT_MS}) with TIMEOUT and compensates it`,
    async () => {
      const sku = await createProduct(client, 'timeout', { available: 6, price: 1_100 });
      await system.stopApp('orders');
      await system.startApp('orders', { env: { ORDER_TIMEOUT_MS: String(SHORT_TIMEOUT_MS) } });
      await system.stopApp('payments');
      let orderId: string;
      try {
        const { order } = await client.placeOrder(orderOf(newCustomer('timeout'), [[sku, 2]]));
        orderId = order.id;

        const cancelled = await client.waitForOrderStatus(order.id, 'CANCELLED', { timeoutMs: 20_000 });
        expect(cancelled.cancellationReason).toBe('TIMEOUT');
        // not before its time
        expect(Date.parse(cancelled.updatedAt) - Date.parse(cancelled.createdAt)).toBeGreaterThanOrEqual(
          SHORT_TIMEOUT_MS,
        );
        await productNow(sku, { available: 6, reserved: 0 });
        await client.waitForNotification(order.id, 'ORDER_CANCELLED');
        expectNestError(await client.cancel(order.id), 409);
      } finally {
        await system.startApp('payments');
        // back to the long timeout, so that the sentinel order below has all the time it needs
        await system.stopApp('orders');
        await system.startApp('orders');
      }

      // payments now sees inventory.reserved and order.cancelled, in either order
      await runSentinelOrder(client);
      const { payments } = await waitForInvariants(client, { orderIds: [orderId], stocked: { [sku]: 6 } });
      expect(payments[orderId].filter((p) => p.status === 'CAPTURED')).toEqual([]);
      expect(await client.getOrder(orderId)).toMatchObject({ status: 'CANCELLED', cancellationReason: 'TIMEOUT' });
    },
    TEST_TIMEOUT,
  );
});

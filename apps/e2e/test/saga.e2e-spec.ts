import { waitFor } from '@shop/testing';
import {
  createProduct,
  expectNestError,
  newCustomer,
  orderOf,
  sampleProduct,
  startSystem,
  waitForInvariants,
  waitForProduct,
  type ShopClient,
  type System,
} from '../src/support';

/** The saga's outcomes, one order at a time: confirmed, rejected for stock, declined, cancelled after confirmation. */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_AMOUNT = 50_000;
const TEST_TIMEOUT = 90_000;

describe('the order saga', () => {
  let system: System;
  let client: ShopClient;

  beforeAll(async () => {
    system = await startSystem({ label: 'saga', env: { payments: { PAYMENTS_MAX_AMOUNT: String(MAX_AMOUNT) } } });
    client = system.client;
  }, 180_000);

  afterAll(() => system?.stop(), 60_000);

  const productNow = (sku: string, expected: { available: number; reserved: number }) =>
    waitForProduct(client, sku, expected);

  it(
    'confirms an order at inventory prices, captures its total once, moves the stock and notifies the customer',
    async () => {
      const sku = await createProduct(client, 'happy', { available: 10, price: 1_250 });
      const customerId = newCustomer('happy');

      const { order, location, response } = await client.placeOrder(orderOf(customerId, [[sku, 3]]));

      expect(response.status).toBe(202);
      expect(order.id).toMatch(UUID);
      expect(location).toBe(`/orders/${order.id}`);
      expect(order).toMatchObject({
        customerId,
        status: 'PENDING',
        items: [{ sku, quantity: 3, unitPrice: null }],
        total: null,
        currency: 'USD',
        cancellationReason: null,
      });

      const confirmed = await client.waitForOrderStatus(order.id, 'CONFIRMED');
      expect(confirmed).toMatchObject({
        id: order.id,
        customerId,
        status: 'CONFIRMED',
        items: [{ sku, quantity: 3, unitPrice: 1_250 }],
        total: 3_750,
        currency: 'USD',
        cancellationReason: null,
      });
      expect(Date.parse(confirmed.updatedAt)).toBeGreaterThanOrEqual(Date.parse(confirmed.createdAt));

      expect(await client.payments(order.id)).toEqual([
        expect.objectContaining({ orderId: order.id, amount: 3_750, status: 'CAPTURED' }),
      ]);
      await productNow(sku, { available: 7, reserved: 0 });
      const notification = await client.waitForNotification(order.id, 'ORDER_CONFIRMED');
      expect(notification).toMatchObject({ customerId, orderId: order.id, type: 'ORDER_CONFIRMED' });
      expect(typeof notification.message).toBe('string');
      await waitForInvariants(client, { orderIds: [order.id], stocked: { [sku]: 10 } });
    },
    TEST_TIMEOUT,
  );

  it(
    'prices every line of an order with several lines',
    async () => {
      const [a, b] = await Promise.all([
        createProduct(client, 'lines', { available: 5, price: 300 }),
        createProduct(client, 'lines', { available: 5, price: 450 }),
      ]);
      const { order } = await client.placeOrder(
        orderOf(newCustomer('lines'), [
          [a, 2],
          [b, 1],
        ]),
      );

      const confirmed = await client.waitForOrderStatus(order.id, 'CONFIRMED');
      expect(confirmed.items).toEqual(
        expect.arrayContaining([
          { sku: a, quantity: 2, unitPrice: 300 },
          { sku: b, quantity: 1, unitPrice: 450 },
        ]),
      );
      expect(confirmed.total).toBe(1_050);
      await waitForInvariants(client, { orderIds: [order.id], stocked: { [a]: 5, [b]: 5 } });
    },
    TEST_TIMEOUT,
  );

  it(
    'cancels an order for more than is available with OUT_OF_STOCK, reserving and charging nothing',
    async () => {
      const sku = await createProduct(client, 'short', { available: 2 });
      const customerId = newCustomer('short');
      const watch = sampleProduct(client, sku);

      const { order } = await client.placeOrder(orderOf(customerId, [[sku, 3]]));
      const cancelled = await client.waitForOrderStatus(order.id, 'CANCELLED');
      await client.waitForNotification(order.id, 'ORDER_CANCELLED');
      const seen = await watch.stop();

      expect(cancelled.cancellationReason).toBe('OUT_OF_STOCK');
      expect(seen).toMatchObject({ maxReserved: 0, minAvailable: 2 });
      expect(await client.getProduct(sku)).toMatchObject({ available: 2, reserved: 0 });
      expect(await client.payments(order.id)).toEqual([]);
      await waitForInvariants(client, { orderIds: [order.id], stocked: { [sku]: 2 } });
    },
    TEST_TIMEOUT,
  );

  it(
    'reserves nothing at all when one line of several is short',
    async () => {
      const [a, short, c] = await Promise.all([
        createProduct(client, 'partial', { available: 5 }),
        createProduct(client, 'partial', { available: 1 }),
        createProduct(client, 'partial', { available: 4 }),
      ]);
      const watchA = sampleProduct(client, a);
      const watchC = sampleProduct(client, c);

      const { order } = await client.placeOrder(
        orderOf(newCustomer('partial'), [
          [a, 2],
          [short, 3],
          [c, 4],
        ]),
      );
      const cancelled = await client.waitForOrderStatus(order.id, 'CANCELLED');
      await client.waitForNotification(order.id, 'ORDER_CANCELLED');
      const [seenA, seenC] = await Promise.all([watchA.stop(), watchC.stop()]);

      expect(cancelled.cancellationReason).toBe('OUT_OF_STOCK');
      expect(seenA).toMatchObject({ maxReserved: 0, minAvailable: 5 });
      expect(seenC).toMatchObject({ maxReserved: 0, minAvailable: 4 });
      expect(await client.getProduct(short)).toMatchObject({ available: 1, reserved: 0 });
      expect((await client.payments(order.id)).filter((p) => p.status === 'CAPTURED')).toEqual([]);
      await waitForInvariants(client, { orderIds: [order.id], stocked: { [a]: 5, [short]: 1, [c]: 4 } });
    },
    TEST_TIMEOUT,
  );

  it.each([
    ['tok_declined', 'card_declined'],
    ['tok_insufficient_funds', 'insufficient_funds'],
  ])(
    'cancels an order paid with %s with PAYMENT_DECLINED (%s), restores its stock and notifies',
    async (token, reason) => {
      const sku = await createProduct(client, 'declined', { available: 5, price: 800 });
      const { order } = await client.placeOrder(orderOf(newCustomer('declined'), [[sku, 2]], token));

      const cancelled = await client.waitForOrderStatus(order.id, 'CANCELLED');
      expect(cancelled.cancellationReason).toBe('PAYMENT_DECLINED');
      const payments = await waitFor(
        async () => {
          const list = await client.payments(order.id);
          return list.length ? list : undefined;
        },
        { description: `the declined payment of ${order.id}` },
      );
      expect(payments).toEqual([
        expect.objectContaining({ orderId: order.id, amount: 1_600, status: 'DECLINED', reason }),
      ]);
      await productNow(sku, { available: 5, reserved: 0 });
      await client.waitForNotification(order.id, 'ORDER_CANCELLED');
      await waitForInvariants(client, { orderIds: [order.id], stocked: { [sku]: 5 } });
    },
    TEST_TIMEOUT,
  );

  it(
    `declines a total over PAYMENTS_MAX_AMOUNT (${MAX_AMOUNT}) with amount_limit, and captures one of exactly that much`,
    async () => {
      const over = await createProduct(client, 'limit', { available: 1, price: MAX_AMOUNT + 1 });
      const exact = await createProduct(client, 'limit', { available: 2, price: MAX_AMOUNT / 2 });
      const customerId = newCustomer('limit');
      const { order: tooMuch } = await client.placeOrder(orderOf(customerId, [[over, 1]]));
      const { order: justEnough } = await client.placeOrder(orderOf(customerId, [[exact, 2]]));

      const cancelled = await client.waitForOrderStatus(tooMuch.id, 'CANCELLED');
      expect(cancelled.cancellationReason).toBe('PAYMENT_DECLINED');
      expect(await client.payments(tooMuch.id)).toEqual([
        expect.objectContaining({ amount: MAX_AMOUNT + 1, status: 'DECLINED', reason: 'amount_limit' }),
      ]);
      await productNow(over, { available: 1, reserved: 0 });

      const confirmed = await client.waitForOrderStatus(justEnough.id, 'CONFIRMED');
      expect(confirmed.total).toBe(MAX_AMOUNT);
      await waitForInvariants(client, {
        orderIds: [tooMuch.id, justEnough.id],
        stocked: { [over]: 1, [exact]: 2 },
      });
    },
    TEST_TIMEOUT,
  );

  it(
    'cancels a CONFIRMED order at the customer request: stock back, payment refunded, both notified; a second cancel is a 409',
    async () => {
      const sku = await createProduct(client, 'regret', { available: 5, price: 700 });
      const customerId = newCustomer('regret');
      const { order } = await client.placeOrder(orderOf(customerId, [[sku, 2]]));
      await client.waitForOrderStatus(order.id, 'CONFIRMED');
      await productNow(sku, { available: 3, reserved: 0 });

      const cancel = await client.cancel(order.id);
      expect(cancel.status).toBe(202);

      const cancelled = await client.waitForOrderStatus(order.id, 'CANCELLED');
      expect(cancelled.cancellationReason).toBe('CUSTOMER_REQUEST');
      await productNow(sku, { available: 5, reserved: 0 });
      const payments = await waitFor(
        async () => {
          const list = await client.payments(order.id);
          return list.some((p) => p.status === 'REFUNDED') ? list : undefined;
        },
        { timeoutMs: 20_000, description: `the payment of ${order.id} to be REFUNDED` },
      );
      expect(payments).toEqual([expect.objectContaining({ orderId: order.id, amount: 1_400, status: 'REFUNDED' })]);
      for (const type of ['ORDER_CONFIRMED', 'PAYMENT_REFUNDED', 'ORDER_CANCELLED'] as const) {
        await client.waitForNotification(order.id, type);
      }

      expectNestError(await client.cancel(order.id), 409);
      await waitForInvariants(client, { orderIds: [order.id], stocked: { [sku]: 5 } });
    },
    TEST_TIMEOUT,
  );
});

import { randomUUID } from 'node:crypto';
import { orderInput, orderRow } from './support/orders-app';
import { ordersTestbed } from './support/orders-testbed';

/**
 * The order's state machine against a real PostgreSQL and RabbitMQ: the events of inventory and
 * payments arriving at the same moment (each in a transaction of its own, as its handler runs it),
 * and what orders publishes.
 */
describe('an order under concurrent saga events', () => {
  const bed = ordersTestbed('orders-saga');

  /** inventory.reserved for an order of one SKU-1 at 2490 cents. */
  const priced = (orderId: string) =>
    bed.replica.transaction((tx) => bed.replica.orders.priced(tx, orderId, [{ sku: 'SKU-1', unitPrice: 2490 }], 2490));
  const paid = (orderId: string, paymentId: string) =>
    bed.replica.transaction((tx) => bed.replica.orders.paid(tx, orderId, paymentId, 2490));
  const rejected = (orderId: string) =>
    bed.replica.transaction((tx) => bed.replica.orders.failed(tx, orderId, 'OUT_OF_STOCK'));
  const placeOrders = (n: number) =>
    Promise.all(
      Array.from({ length: n }, async () => (await bed.replica.orders.place(orderInput(`c-${randomUUID()}`))).order.id),
    );

  it('confirms each order exactly once when inventory.reserved and payment.captured arrive together, twice each', async () => {
    const orders = await placeOrders(20);
    // Every event delivered twice (a redelivery racing the first copy), all of them at the same moment.
    await Promise.all(
      orders.flatMap((orderId) => {
        const paymentId = randomUUID();
        return [priced(orderId), paid(orderId, paymentId), priced(orderId), paid(orderId, paymentId)];
      }),
    );

    for (const orderId of orders) {
      expect(await orderRow(bed.replica.db, orderId)).toMatchObject({ status: 'CONFIRMED', total: '2490' });
      const published = await bed.eventsOf(orderId);
      expect(published.map((event) => event.type)).toEqual(['order.placed', 'order.confirmed']);
      expect(published[1].data).toMatchObject({ orderId, total: 2490, currency: 'USD' });
    }
  });

  it('never confirms an order inventory rejected, whichever of the rejection and the payment comes first', async () => {
    const orders = await placeOrders(20);
    await Promise.all(orders.flatMap((orderId) => [rejected(orderId), paid(orderId, randomUUID())]));

    for (const orderId of orders) {
      expect(await orderRow(bed.replica.db, orderId)).toMatchObject({
        status: 'CANCELLED',
        cancellation_reason: 'OUT_OF_STOCK',
      });
      const published = await bed.eventsOf(orderId);
      expect(published.map((event) => event.type)).toEqual(['order.placed', 'order.cancelled']);
      expect(published[1].data).toMatchObject({ reason: 'OUT_OF_STOCK', previousStatus: 'PENDING' });
    }
  });

  it("cancels an order once when the customer's cancel races its confirmation", async () => {
    const orders = await placeOrders(20);
    await Promise.all(
      orders.flatMap((orderId) => [
        priced(orderId),
        paid(orderId, randomUUID()),
        bed.replica.orders.cancelByCustomer(orderId),
      ]),
    );

    for (const orderId of orders) {
      expect(await orderRow(bed.replica.db, orderId)).toMatchObject({
        status: 'CANCELLED',
        cancellation_reason: 'CUSTOMER_REQUEST',
      });
      const published = await bed.eventsOf(orderId);
      const cancelled = published.filter((event) => event.type === 'order.cancelled');
      expect(cancelled).toHaveLength(1);
      // Confirmed first (then the compensations refund and release), or cancelled while still PENDING.
      if (published.some((event) => event.type === 'order.confirmed')) {
        expect(published.map((event) => event.type)).toEqual(['order.placed', 'order.confirmed', 'order.cancelled']);
        expect(cancelled[0].data).toMatchObject({ previousStatus: 'CONFIRMED' });
      } else {
        expect(published.map((event) => event.type)).toEqual(['order.placed', 'order.cancelled']);
        expect(cancelled[0].data).toMatchObject({ previousStatus: 'PENDING' });
      }
    }
  });
});

import { UnprocessableEntityException } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { orderInput } from './support/orders-app';
import { ordersTestbed } from './support/orders-testbed';

/**
 * POST /orders with an Idempotency-Key (OrdersService.place): a client retrying, even at the same
 * moment as its first try, gets the one order it placed, against a real PostgreSQL.
 */
describe('placing an order with an Idempotency-Key', () => {
  const bed = ordersTestbed('orders-idem');

  const ordersOf = async (customerId: string) =>
    (
      (await bed.replica.db.query(`SELECT id FROM orders WHERE customer_id = $1`, [customerId])) as { id: string }[]
    ).map((row) => row.id);

  it('places one order when 10 requests with the same key and body arrive at once', async () => {
    const customerId = `c-${randomUUID()}`;
    const key = randomUUID();
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => bed.replica.orders.place(orderInput(customerId, 2), key)),
    );

    const [orderId] = await ordersOf(customerId);
    expect(await ordersOf(customerId)).toEqual([orderId]);
    expect(answers.map((answer) => answer.order.id)).toEqual(Array(10).fill(orderId));
    expect(answers.filter((answer) => answer.created)).toHaveLength(1);
    expect(answers.map((answer) => answer.order.items)).toEqual(
      Array(10).fill([{ sku: 'SKU-1', quantity: 2, unitPrice: null }]),
    );
    expect(await bed.typesOf(orderId)).toEqual(['order.placed']);
  });

  it('refuses the same key with another body, placing nothing more', async () => {
    const customerId = `c-${randomUUID()}`;
    const key = randomUUID();
    const { order } = await bed.replica.orders.place(orderInput(customerId, 1), key);

    await expect(bed.replica.orders.place(orderInput(customerId, 3), key)).rejects.toBeInstanceOf(
      UnprocessableEntityException,
    );
    expect(await ordersOf(customerId)).toEqual([order.id]);
    expect(await bed.typesOf(order.id)).toEqual(['order.placed']);
  });
});

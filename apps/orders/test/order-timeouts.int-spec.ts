import { sessionsWaitingForLock, waitFor } from '@shop/testing';
import { randomUUID } from 'node:crypto';
import { backdate, orderInput, orderRow, type OrdersReplica } from './support/orders-app';
import { ordersTestbed } from './support/orders-testbed';

/** An order PENDING this long is due in these tests (the replicas' own periodic sweep waits an hour). */
const TIMEOUT_MS = 60_000;

/**
 * Orders stuck in PENDING are cancelled with TIMEOUT by every replica's sweep: against a real
 * PostgreSQL, each order goes to one sweeper (FOR UPDATE SKIP LOCKED), and one a handler is changing is
 * left for a later sweep rather than waited for.
 */
describe('the timeout sweep of PENDING orders', () => {
  const bed = ordersTestbed('orders-timeouts', 2);

  /** `n` orders placed 10 minutes ago, still PENDING (no inventory or payments here to move them). */
  async function overdueOrders(n: number): Promise<string[]> {
    const { orders, db } = bed.replica;
    const ids = await Promise.all(
      Array.from({ length: n }, async () => (await orders.place(orderInput(`c-${randomUUID()}`))).order.id),
    );
    await backdate(db, ids, 10 * TIMEOUT_MS);
    return ids;
  }

  /** One replica sweeping in batches of 5 until a sweep finds nothing: how many it cancelled. */
  async function sweepUntilDone(replica: OrdersReplica): Promise<number> {
    let total = 0;
    for (;;) {
      const cancelled = await replica.orders.cancelTimedOut(TIMEOUT_MS, 5);
      if (cancelled === 0) return total;
      total += cancelled;
    }
  }

  it('cancels each overdue order once when two replicas sweep at the same moment', async () => {
    const orders = await overdueOrders(60);
    const swept = await Promise.all(bed.replicas.map(sweepUntilDone));

    // Each order counted by exactly one sweeper: none cancelled twice, none missed.
    expect(swept[0] + swept[1]).toBe(60);
    for (const orderId of orders) {
      expect(await orderRow(bed.replica.db, orderId)).toMatchObject({
        status: 'CANCELLED',
        cancellation_reason: 'TIMEOUT',
      });
      const published = await bed.eventsOf(orderId);
      expect(published.map((event) => event.type)).toEqual(['order.placed', 'order.cancelled']);
      expect(published[1].data).toMatchObject({ reason: 'TIMEOUT', previousStatus: 'PENDING' });
    }
  });

  it('leaves an order a handler is changing to a later sweep instead of waiting for it', async () => {
    const [held, ...others] = await overdueOrders(3);
    const replica = bed.replica;
    // A handler's transaction holding the order's row (payment.captured being recorded, say).
    const handler = replica.db.createQueryRunner();
    await handler.connect();
    await handler.startTransaction();
    try {
      await handler.query(`SELECT 1 FROM orders WHERE id = $1 FOR UPDATE`, [held]);
      let done = false;
      const sweep = replica.orders.cancelTimedOut(TIMEOUT_MS).finally(() => (done = true));
      // A sweep that waited for the row would show up as a session waiting for a lock.
      const waited = await waitFor(
        async () => done || (await sessionsWaitingForLock(replica.db, `status = 'PENDING' AND created_at`)) > 0,
        { description: 'the sweep to finish or to wait for the held order', timeoutMs: 30_000 },
      ).then(() => !done);
      expect(waited).toBe(false);
      expect(await sweep).toBe(2);
      expect(await orderRow(replica.db, held)).toMatchObject({ status: 'PENDING' });
    } finally {
      await handler.commitTransaction();
      await handler.release();
    }

    expect(await replica.orders.cancelTimedOut(TIMEOUT_MS)).toBe(1);
    for (const orderId of [held, ...others]) {
      expect(await orderRow(replica.db, orderId)).toMatchObject({
        status: 'CANCELLED',
        cancellation_reason: 'TIMEOUT',
      });
      expect(await bed.typesOf(orderId)).toEqual(['order.placed', 'order.cancelled']);
    }
  });
});

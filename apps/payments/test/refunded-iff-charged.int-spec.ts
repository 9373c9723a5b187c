import type { CloudEvent } from '@shop/contracts';
import { lockWaiters } from '@shop/testing';
import { TransientProviderError } from '../src/payments/transient-provider-error';
import { paymentsTestbed, type PaymentOutcome } from './support/payments-testbed';
import { inventoryReserved, newOrderId, orderCancelled, orderPlaced, QUEUES, TOTAL } from './support/saga-events';
import { Gate } from './support/scripted-card-provider';

interface Delivery {
  event: CloudEvent;
  queue: string;
}

/** Charged once, then refunded in full: one payment.captured (the capture committed) and one payment.refunded. */
const CHARGED_AND_REFUNDED: PaymentOutcome = {
  order: 'CANCELLED',
  payments: [{ status: 'REFUNDED', amount: TOTAL }],
  charges: 1,
  refunds: 1,
  events: { captured: 1, declined: 0, refunded: 1 },
};

/** Never charged: nothing to refund, nothing published. */
const NEVER_CHARGED: PaymentOutcome = {
  order: 'CANCELLED',
  payments: [],
  charges: 0,
  refunds: 0,
  events: { captured: 0, declined: 0, refunded: 0 },
};

describe('an order cancelled around its capture (inventory.reserved and order.cancelled)', () => {
  const testbed = paymentsTestbed('payments-races');
  const { deliver, handled, outcome, placedOrder } = testbed;

  it('refunds the charge when order.cancelled comes after the capture', async () => {
    const orderId = await placedOrder();
    await deliver(inventoryReserved(orderId), QUEUES.reserved);
    await deliver(orderCancelled(orderId), QUEUES.cancelled);
    expect(await outcome(orderId)).toEqual(CHARGED_AND_REFUNDED);
  });

  it('never charges when order.cancelled comes before inventory.reserved', async () => {
    const orderId = await placedOrder();
    await deliver(orderCancelled(orderId), QUEUES.cancelled);
    await deliver(inventoryReserved(orderId), QUEUES.reserved);
    expect(await outcome(orderId)).toEqual(NEVER_CHARGED);
  });

  /**
   * `first` is handled up to `gate` (inside its transaction, holding the order's row), `second`
   * arrives and waits for that row, then `first` goes on: both are handled in the end.
   */
  const interleave = async (gate: Gate, first: Delivery, second: Delivery) => {
    await testbed.events.publish(first.event);
    await gate.reached();
    await testbed.events.publish(second.event);
    await lockWaiters(testbed.app.db);
    gate.open();
    await handled(first.queue, first.event);
    await handled(second.queue, second.event);
  };

  it('refunds once when order.cancelled arrives while the capture is charging the card', async () => {
    const orderId = await placedOrder();
    const charging = new Gate();
    testbed.app.provider.beforeCharge = charging.step;
    await interleave(
      charging,
      { event: inventoryReserved(orderId), queue: QUEUES.reserved },
      { event: orderCancelled(orderId), queue: QUEUES.cancelled },
    );
    expect(await outcome(orderId)).toEqual(CHARGED_AND_REFUNDED);
  });

  it('never charges when inventory.reserved arrives while the cancel is asking the provider about a charge', async () => {
    const orderId = await placedOrder();
    const asking = new Gate();
    testbed.app.provider.beforeLookup = asking.step;
    await interleave(
      asking,
      { event: orderCancelled(orderId), queue: QUEUES.cancelled },
      { event: inventoryReserved(orderId), queue: QUEUES.reserved },
    );
    expect(await outcome(orderId)).toEqual(NEVER_CHARGED);
  });

  it('refunds a charge whose answer was lost when the order is cancelled before the capture is retried', async () => {
    const orderId = await placedOrder();
    const provider = testbed.app.provider;
    let answerLost!: () => void;
    const lost = new Promise<void>((resolve) => (answerLost = resolve));
    provider.afterCharge = async () => {
      provider.afterCharge = undefined;
      // From now on the provider is down for the capture's retries, until the order is cancelled.
      provider.beforeCharge = () => Promise.reject(new TransientProviderError('card provider unavailable'));
      answerLost();
      throw new TransientProviderError('after charging: response lost');
    };
    const reserved = inventoryReserved(orderId);
    await testbed.events.publish(reserved);
    await lost;
    await deliver(orderCancelled(orderId), QUEUES.cancelled);
    await handled(QUEUES.reserved, reserved);
    // The capture never committed: the cancel found the charge at the provider and refunded it.
    expect(await outcome(orderId)).toEqual({
      ...CHARGED_AND_REFUNDED,
      events: { captured: 0, declined: 0, refunded: 1 },
    });
  });

  it('leaves a tombstone when order.cancelled comes before order.placed: the later capture does nothing', async () => {
    const orderId = newOrderId();
    await deliver(orderCancelled(orderId), QUEUES.cancelled);
    expect(
      await testbed.app.db.query(`SELECT status, payment_token FROM payment_orders WHERE order_id = $1`, [orderId]),
    ).toEqual([{ status: 'CANCELLED', payment_token: null }]);
    await deliver(orderPlaced(orderId), QUEUES.placed);
    await deliver(inventoryReserved(orderId), QUEUES.reserved);
    expect(await outcome(orderId)).toEqual(NEVER_CHARGED);
  });

  it('charges at most once and refunds exactly what it charged, whatever the order concurrent events arrive in', async () => {
    const orders = await Promise.all(Array.from({ length: 8 }, () => placedOrder()));
    const pairs = orders.map((orderId) => ({
      reserved: inventoryReserved(orderId),
      cancelled: orderCancelled(orderId),
    }));
    const { events } = testbed;
    await Promise.all(
      pairs.map(({ reserved, cancelled }, i) =>
        i % 2 === 0
          ? events.publish(reserved).then(() => events.publish(cancelled))
          : events.publish(cancelled).then(() => events.publish(reserved)),
      ),
    );
    for (const { reserved, cancelled } of pairs) {
      await handled(QUEUES.reserved, reserved);
      await handled(QUEUES.cancelled, cancelled);
    }
    for (const orderId of orders) {
      expect([CHARGED_AND_REFUNDED, NEVER_CHARGED]).toContainEqual(await outcome(orderId));
    }
  });
});

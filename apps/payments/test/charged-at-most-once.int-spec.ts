import { waitFor } from '@shop/testing';
import { TransientProviderError } from '../src/payments/transient-provider-error';
import { paymentsTestbed, type PaymentOutcome } from './support/payments-testbed';
import { inventoryReserved, QUEUES, TOTAL } from './support/saga-events';

const CAPTURED_ONCE: PaymentOutcome = {
  order: 'CHARGED',
  payments: [{ status: 'CAPTURED', amount: TOTAL }],
  charges: 1,
  refunds: 0,
  events: { captured: 1, declined: 0, refunded: 0 },
};

describe('a reserved order is charged at most once', () => {
  const testbed = paymentsTestbed('payments-once');
  const { deliver, duplicates, outcome, placedOrder } = testbed;

  it('does not charge twice when inventory.reserved is redelivered', async () => {
    const orderId = await placedOrder();
    const reserved = inventoryReserved(orderId);
    const before = await duplicates(QUEUES.reserved);
    await deliver(reserved, QUEUES.reserved);
    await testbed.events.publish(reserved);
    await waitFor(async () => (await duplicates(QUEUES.reserved)) === before + 1, {
      description: 'the redelivery to be skipped as a duplicate',
    });
    expect(await outcome(orderId)).toEqual(CAPTURED_ONCE);
  });

  it('does not charge twice when inventory.reserved comes again under a new id', async () => {
    const orderId = await placedOrder();
    await deliver(inventoryReserved(orderId), QUEUES.reserved);
    await deliver(inventoryReserved(orderId), QUEUES.reserved);
    expect(await outcome(orderId)).toEqual(CAPTURED_ONCE);
  });

  it('charges once when the capture is retried after the provider lost its answer', async () => {
    const orderId = await placedOrder();
    let calls = 0;
    testbed.app.provider.afterCharge = async () => {
      if (++calls === 1) throw new TransientProviderError('after charging: response lost');
    };
    await deliver(inventoryReserved(orderId), QUEUES.reserved);
    expect(calls).toBe(2);
    expect(await outcome(orderId)).toEqual(CAPTURED_ONCE);
  });

  it('records a decline once and publishes payment.declined once, even when inventory.reserved comes again', async () => {
    const orderId = await placedOrder('tok_declined');
    await deliver(inventoryReserved(orderId), QUEUES.reserved);
    await deliver(inventoryReserved(orderId), QUEUES.reserved);
    expect(await outcome(orderId)).toEqual({
      order: 'DECLINED',
      payments: [{ status: 'DECLINED', amount: TOTAL }],
      charges: 0,
      refunds: 0,
      events: { captured: 0, declined: 1, refunded: 0 },
    });
    expect(await testbed.app.db.query(`SELECT reason FROM payments WHERE order_id = $1`, [orderId])).toEqual([
      { reason: 'card_declined' },
    ]);
  });
});

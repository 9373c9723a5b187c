import * as fc from 'fast-check';
import type { FuzzWorld, JsonObject } from './fuzz-message';
import { uuid } from './message-parts';

const CURRENCY = 'USD';
const CANCELLATION_REASONS = ['OUT_OF_STOCK', 'PAYMENT_DECLINED', 'CUSTOMER_REQUEST', 'TIMEOUT'] as const;
const DECLINE_REASONS = ['card_declined', 'insufficient_funds', 'amount_limit'] as const;
const NOTIFICATION_KINDS = ['ORDER_CONFIRMED', 'ORDER_CANCELLED', 'PAYMENT_REFUNDED'] as const;

const cents = () => fc.integer({ min: 0, max: 1_000_000 });
const quantity = () => fc.integer({ min: 1, max: 1000 });

/** Valid data of the latest version of `type`, about `orderId` (its subject). */
export function validData(type: string, orderId: string, world: FuzzWorld): fc.Arbitrary<JsonObject> {
  const customerId = fc.constantFrom(...world.customerIds);
  const sku = fc.constantFrom(...world.skus);
  switch (type) {
    case 'order.placed':
      return fc.record({
        orderId: fc.constant(orderId),
        customerId,
        items: fc.array(fc.record({ sku, quantity: quantity() }), { minLength: 1, maxLength: 4 }),
        paymentToken: fc.constantFrom('tok_visa', 'tok_mastercard', 'tok_decline'),
      });
    case 'order.confirmed':
      return fc.record({ orderId: fc.constant(orderId), customerId, total: cents(), currency: fc.constant(CURRENCY) });
    case 'order.cancelled':
      return fc.record({
        orderId: fc.constant(orderId),
        customerId,
        reason: fc.constantFrom(...CANCELLATION_REASONS),
        previousStatus: fc.constantFrom('PENDING', 'CONFIRMED'),
      });
    case 'inventory.reserved':
      return fc.record({
        orderId: fc.constant(orderId),
        lines: fc.array(fc.record({ sku, quantity: quantity(), unitPrice: cents() }), { minLength: 1, maxLength: 4 }),
        total: cents(),
        currency: fc.constant(CURRENCY),
      });
    case 'inventory.rejected':
      return fc.record({
        orderId: fc.constant(orderId),
        reason: fc.constant('OUT_OF_STOCK'),
        missing: fc.array(
          fc.record({
            sku,
            requested: fc.integer({ min: 1, max: 5000 }),
            available: fc.integer({ min: 0, max: 5000 }),
          }),
          { maxLength: 3 },
        ),
      });
    case 'inventory.released':
      return fc.record({
        orderId: fc.constant(orderId),
        lines: fc.array(fc.record({ sku, quantity: quantity() }), { maxLength: 4 }),
      });
    case 'payment.captured':
      return fc.record({
        orderId: fc.constant(orderId),
        paymentId: uuid(),
        amount: cents(),
        currency: fc.constant(CURRENCY),
      });
    case 'payment.declined':
      return fc.record({
        orderId: fc.constant(orderId),
        paymentId: uuid(),
        amount: cents(),
        reason: fc.constantFrom(...DECLINE_REASONS),
      });
    case 'payment.refunded':
      return fc.record({
        orderId: fc.constant(orderId),
        paymentId: uuid(),
        customerId,
        amount: cents(),
        currency: fc.constant(CURRENCY),
      });
    case 'notification.sent':
      return fc.record({
        orderId: fc.constant(orderId),
        notificationId: uuid(),
        customerId,
        kind: fc.constantFrom(...NOTIFICATION_KINDS),
      });
    case 'stock.adjusted':
      // About a product, not an order: its subject is its sku. The fuzz's subjects are order ids, so
      // its products are named by them; inventory has no such product and refuses a valid one.
      return fc.record({
        sku: fc.constant(orderId),
        delta: fc.integer({ min: -1_000_000, max: 1_000_000 }).filter((delta) => delta !== 0),
        reason: fc.constantFrom('goods-received', 'stock-take', 'damaged'),
      });
    default:
      throw new Error(`no data arbitrary for ${type}: add one to valid-event-data.ts`);
  }
}

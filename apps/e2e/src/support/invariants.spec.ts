import { findViolations, type InvariantScope, type Snapshot } from './invariants';
import type { Notification, NotificationType, Order, Payment } from './shop-client';

const order = (id: string, status: Order['status'], sku: string, quantity: number, total: number | null): Order => ({
  id,
  customerId: 'c-1',
  status,
  items: [{ sku, quantity, unitPrice: total === null ? null : total / quantity }],
  total,
  currency: 'USD',
  cancellationReason: status === 'CANCELLED' ? 'CUSTOMER_REQUEST' : null,
  createdAt: '2025-01-01T00:00:00.000Z',
  updatedAt: '2025-01-01T00:00:00.000Z',
});
const payment = (orderId: string, amount: number, status: Payment['status']): Payment => ({
  id: `p-${orderId}-${status}`,
  orderId,
  amount,
  status,
  reason: null,
});
const notification = (orderId: string, type: NotificationType): Notification => ({
  id: `n-${orderId}-${type}`,
  customerId: 'c-1',
  orderId,
  type,
  message: type,
  createdAt: '2025-01-01T00:00:00.000Z',
});

const scope: InvariantScope = { orderIds: ['o1', 'o2'], stocked: { A: 10 } };

/** o1 confirmed (2 x 500), o2 confirmed then cancelled by the customer and refunded (3 x 500). */
const consistent = (): Snapshot => ({
  orders: [order('o1', 'CONFIRMED', 'A', 2, 1000), order('o2', 'CANCELLED', 'A', 3, 1500)],
  products: [{ sku: 'A', name: 'A', price: 500, available: 8, reserved: 0 }],
  payments: { o1: [payment('o1', 1000, 'CAPTURED')], o2: [payment('o2', 1500, 'REFUNDED')] },
  notifications: {
    o1: [notification('o1', 'ORDER_CONFIRMED')],
    o2: [
      notification('o2', 'ORDER_CONFIRMED'),
      notification('o2', 'PAYMENT_REFUNDED'),
      notification('o2', 'ORDER_CANCELLED'),
    ],
  },
});

describe('findViolations', () => {
  it('finds nothing wrong in a consistent snapshot', () => {
    expect(findViolations(scope, consistent())).toEqual([]);
  });

  it('reports an order still pending and stock still reserved for it', () => {
    const snapshot = consistent();
    snapshot.orders[1] = order('o2', 'PENDING', 'A', 3, null);
    snapshot.products[0] = { ...snapshot.products[0], available: 5, reserved: 3 };
    snapshot.payments['o2'] = [];
    snapshot.notifications['o2'] = [];
    expect(findViolations(scope, snapshot)).toEqual(['order o2 is still PENDING']);
  });

  it('reports stock that does not add up, and stock left reserved once every order is final', () => {
    const snapshot = consistent();
    snapshot.products[0] = { ...snapshot.products[0], available: 5, reserved: 3 };
    expect(findViolations(scope, snapshot)).toEqual(['A: 3 still reserved although every order is final']);
    snapshot.products[0] = { ...snapshot.products[0], available: 9, reserved: 0 };
    expect(findViolations(scope, snapshot)).toEqual(['A: available 9 + reserved 0 + sold 2 = 11, not the 10 stocked']);
  });

  it('reports a double capture, and money kept for a cancelled order', () => {
    const snapshot = consistent();
    snapshot.payments['o1'] = [payment('o1', 1000, 'CAPTURED'), { ...payment('o1', 1000, 'REFUNDED'), id: 'p2' }];
    snapshot.payments['o2'] = [payment('o2', 1500, 'CAPTURED')];
    expect(findViolations(scope, snapshot)).toEqual([
      'order o1 was captured 2 times',
      'order o1 is CONFIRMED with total 1000 but has 1000 captured and 1000 refunded',
      'order o1 has a REFUNDED payment but no PAYMENT_REFUNDED notification',
      'order o2 is CANCELLED (CUSTOMER_REQUEST) but 1500 is still captured',
      'order o2 has a PAYMENT_REFUNDED notification but no REFUNDED payment',
      "money: captured 3500 - refunded 1000 = 2500, not the 1000 of the CONFIRMED orders' totals",
    ]);
  });

  it('reports duplicate and missing notifications', () => {
    const snapshot = consistent();
    snapshot.notifications['o1'] = [
      notification('o1', 'ORDER_CONFIRMED'),
      { ...notification('o1', 'ORDER_CONFIRMED'), id: 'x' },
    ];
    snapshot.notifications['o2'] = [notification('o2', 'ORDER_CANCELLED')];
    expect(findViolations(scope, snapshot)).toEqual([
      'order o1 has 2 ORDER_CONFIRMED notifications',
      'order o2 has a REFUNDED payment but no PAYMENT_REFUNDED notification',
    ]);
  });
});

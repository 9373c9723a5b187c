import type { Notification, NotificationType, Order, Payment, Product, ShopClient } from './shop-client';
import { mapLimit } from './fixtures';

/** What a test put in and placed: every order on these skus must be listed. */
export interface InvariantScope {
  orderIds: readonly string[];
  /** sku → the `available` it was created with (PUT /products) before any order of the scope. */
  stocked: Readonly<Record<string, number>>;
}

/** Everything the invariants are checked on, read over HTTP. */
export interface Snapshot {
  orders: Order[];
  products: Product[];
  /** orderId → GET /payments?orderId= */
  payments: Record<string, Payment[]>;
  /** orderId → GET /notifications?orderId= */
  notifications: Record<string, Notification[]>;
}

const NOTIFICATION_TYPES: readonly NotificationType[] = ['ORDER_CONFIRMED', 'ORDER_CANCELLED', 'PAYMENT_REFUNDED'];

/**
 * The system's guarantees, as a list of what is broken (empty when all hold):
 * - every order is final (CONFIRMED or CANCELLED);
 * - stock: for each sku available + reserved + sold == stocked, where sold is the quantity of its
 *   CONFIRMED orders' lines; nothing negative; nothing reserved once every order is final;
 * - money: at most one capture per order (a REFUNDED payment was captured first); a CONFIRMED order
 *   has exactly its total captured and not refunded, a CANCELLED one nothing left captured; and over
 *   the whole scope sum(captured, including later refunded) - sum(refunded) == sum(CONFIRMED totals);
 * - notifications: at most one per (order, type); ORDER_CONFIRMED for a CONFIRMED order,
 *   ORDER_CANCELLED for a CANCELLED one, PAYMENT_REFUNDED exactly when a payment was refunded.
 *
 * A payment's `status` is read as its current state: a refund turns the captured payment into
 * REFUNDED (SPEC.md: "status one of CAPTURED, DECLINED, REFUNDED").
 */
export function findViolations(scope: InvariantScope, snapshot: Snapshot): string[] {
  const violations: string[] = [];
  const byId = new Map(snapshot.orders.map((order) => [order.id, order]));

  for (const id of scope.orderIds) {
    const order = byId.get(id);
    if (!order) violations.push(`order ${id} is missing`);
    else if (order.status === 'PENDING') violations.push(`order ${id} is still PENDING`);
  }
  const allFinal = scope.orderIds.every((id) => {
    const status = byId.get(id)?.status;
    return status === 'CONFIRMED' || status === 'CANCELLED';
  });

  // stock
  const sold = new Map<string, number>();
  for (const order of snapshot.orders) {
    if (order.status !== 'CONFIRMED') continue;
    for (const line of order.items) sold.set(line.sku, (sold.get(line.sku) ?? 0) + line.quantity);
  }
  for (const [sku, stocked] of Object.entries(scope.stocked)) {
    const product = snapshot.products.find((p) => p.sku === sku);
    if (!product) {
      violations.push(`product ${sku} is missing`);
      continue;
    }
    const soldQuantity = sold.get(sku) ?? 0;
    if (product.available < 0) violations.push(`${sku}: available is negative (${product.available})`);
    if (product.reserved < 0) violations.push(`${sku}: reserved is negative (${product.reserved})`);
    if (product.available + product.reserved + soldQuantity !== stocked) {
      violations.push(
        `${sku}: available ${product.available} + reserved ${product.reserved} + sold ${soldQuantity} = ` +
          `${product.available + product.reserved + soldQuantity}, not the ${stocked} stocked`,
      );
    }
    if (allFinal && product.reserved !== 0) {
      violations.push(`${sku}: ${product.reserved} still reserved although every order is final`);
    }
  }

  // money
  let capturedIncludingRefunded = 0;
  let refunded = 0;
  let confirmedTotals = 0;
  for (const id of scope.orderIds) {
    const order = byId.get(id);
    const payments = snapshot.payments[id] ?? [];
    for (const payment of payments) {
      if (payment.orderId !== id) violations.push(`GET /payments?orderId=${id} listed a payment of ${payment.orderId}`);
    }
    const captures = payments.filter((p) => p.status === 'CAPTURED' || p.status === 'REFUNDED');
    const stillCaptured = sum(payments.filter((p) => p.status === 'CAPTURED').map((p) => p.amount));
    const refundedHere = sum(payments.filter((p) => p.status === 'REFUNDED').map((p) => p.amount));
    capturedIncludingRefunded += stillCaptured + refundedHere;
    refunded += refundedHere;
    if (captures.length > 1) violations.push(`order ${id} was captured ${captures.length} times`);
    if (order?.status === 'CONFIRMED') {
      if (order.total === null) violations.push(`order ${id} is CONFIRMED with no total`);
      else confirmedTotals += order.total;
      if (stillCaptured !== order.total || refundedHere !== 0) {
        violations.push(
          `order ${id} is CONFIRMED with total ${order.total} but has ${stillCaptured} captured and ${refundedHere} refunded`,
        );
      }
    } else if (order?.status === 'CANCELLED' && stillCaptured !== 0) {
      violations.push(`order ${id} is CANCELLED (${order.cancellationReason}) but ${stillCaptured} is still captured`);
    }

    // notifications
    if (!order || order.status === 'PENDING') continue;
    const notifications = snapshot.notifications[id] ?? [];
    const count = (type: NotificationType) => notifications.filter((n) => n.type === type).length;
    for (const type of NOTIFICATION_TYPES) {
      if (count(type) > 1) violations.push(`order ${id} has ${count(type)} ${type} notifications`);
    }
    for (const notification of notifications) {
      if (notification.orderId !== id) {
        violations.push(`GET /notifications?orderId=${id} listed a notification of ${notification.orderId}`);
      } else if (notification.customerId !== order.customerId) {
        violations.push(
          `notification ${notification.id} names customer ${notification.customerId}, not ${order.customerId}`,
        );
      }
    }
    if (order.status === 'CONFIRMED') {
      if (count('ORDER_CONFIRMED') === 0)
        violations.push(`order ${id} is CONFIRMED but has no ORDER_CONFIRMED notification`);
      if (count('ORDER_CANCELLED') !== 0)
        violations.push(`order ${id} is CONFIRMED but has an ORDER_CANCELLED notification`);
    } else if (count('ORDER_CANCELLED') === 0) {
      violations.push(`order ${id} is CANCELLED but has no ORDER_CANCELLED notification`);
    }
    const wasRefunded = payments.some((p) => p.status === 'REFUNDED');
    if (wasRefunded && count('PAYMENT_REFUNDED') === 0) {
      violations.push(`order ${id} has a REFUNDED payment but no PAYMENT_REFUNDED notification`);
    }
    if (!wasRefunded && count('PAYMENT_REFUNDED') !== 0) {
      violations.push(`order ${id} has a PAYMENT_REFUNDED notification but no REFUNDED payment`);
    }
  }
  if (capturedIncludingRefunded - refunded !== confirmedTotals) {
    violations.push(
      `money: captured ${capturedIncludingRefunded} - refunded ${refunded} = ${capturedIncludingRefunded - refunded}, ` +
        `not the ${confirmedTotals} of the CONFIRMED orders' totals`,
    );
  }
  return violations;
}

export async function takeSnapshot(client: ShopClient, scope: InvariantScope): Promise<Snapshot> {
  const orders = await mapLimit(scope.orderIds, 8, (id) => client.getOrder(id));
  const products = await mapLimit(Object.keys(scope.stocked), 8, (sku) => client.getProduct(sku));
  const payments: Record<string, Payment[]> = {};
  const notifications: Record<string, Notification[]> = {};
  await mapLimit(scope.orderIds, 8, async (id) => {
    payments[id] = await client.payments(id);
    notifications[id] = await client.notifications({ orderId: id });
  });
  return { orders, products, payments, notifications };
}

/**
 * Polls until every invariant holds (effects such as a release or a refund follow the order's final
 * status by a hop or two), and resolves with that snapshot; on timeout the error lists what is broken.
 */
export async function waitForInvariants(
  client: ShopClient,
  scope: InvariantScope,
  options: { timeoutMs?: number } = {},
): Promise<Snapshot> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  let violations: string[] = [];
  let lastError: Error | undefined;
  for (;;) {
    try {
      const snapshot = await takeSnapshot(client, scope);
      violations = findViolations(scope, snapshot);
      lastError = undefined;
      if (!violations.length) return snapshot;
    } catch (error) {
      lastError = error as Error;
    }
    if (Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const shown = violations.slice(0, 30).map((v) => `\n  - ${v}`);
  if (violations.length > shown.length) shown.push(`\n  - ... and ${violations.length - shown.length} more`);
  throw new Error(
    `Invariants still broken after ${timeoutMs} ms:${shown.join('')}${lastError ? `\n  last error: ${lastError.message}` : ''}`,
  );
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

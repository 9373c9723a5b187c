import { randomUUID } from 'node:crypto';
import { InventoryReserved, OrderCancelled, OrderPlaced } from '@shop/contracts';

/** The payments app's queues: the events it consumes, one queue each. */
export const QUEUES = {
  placed: 'payments.payment-saga.on-placed',
  reserved: 'payments.payment-saga.on-reserved',
  cancelled: 'payments.payment-saga.on-cancelled',
} as const;

export const CUSTOMER = 'customer-1';
export const TOTAL = 2500;

export const newOrderId = () => randomUUID();

export const orderPlaced = (orderId: string, paymentToken = 'tok_visa') =>
  OrderPlaced.create({ orderId, customerId: CUSTOMER, items: [{ sku: 'SKU-1', quantity: 1 }], paymentToken });

export const inventoryReserved = (orderId: string) =>
  InventoryReserved.create({
    orderId,
    lines: [{ sku: 'SKU-1', quantity: 1, unitPrice: TOTAL }],
    total: TOTAL,
    currency: 'USD',
  });

export const orderCancelled = (orderId: string) =>
  OrderCancelled.create({ orderId, customerId: CUSTOMER, reason: 'CUSTOMER_REQUEST', previousStatus: 'PENDING' });

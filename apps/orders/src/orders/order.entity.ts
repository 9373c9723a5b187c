import type { CancellationReason } from '@shop/contracts';

export type OrderStatus = 'PENDING' | 'CONFIRMED' | 'CANCELLED';

export const ORDER_STATUSES: OrderStatus[] = ['PENDING', 'CONFIRMED', 'CANCELLED'];

export interface OrderLine {
  sku: string;
  quantity: number;
  unitPrice: number | null;
}

/** An order as stored: one row of `orders` (created by the migrations; queried in SQL, no ORM entity). */
export interface OrderRow {
  id: string;
  seq: string;
  customer_id: string;
  status: OrderStatus;
  items: OrderLine[];
  total: string | null;
  currency: string;
  cancellation_reason: CancellationReason | null;
  payment_id: string | null;
  paid_amount: string | null;
  created_at: Date;
  updated_at: Date;
}

/** The order as SPEC.md shows it. */
export interface OrderView {
  id: string;
  customerId: string;
  status: OrderStatus;
  items: OrderLine[];
  total: number | null;
  currency: 'USD';
  cancellationReason: CancellationReason | null;
  createdAt: string;
  updatedAt: string;
}

export function toView(row: OrderRow): OrderView {
  return {
    id: row.id,
    customerId: row.customer_id,
    status: row.status,
    items: row.items.map((line) => ({ sku: line.sku, quantity: line.quantity, unitPrice: line.unitPrice ?? null })),
    total: row.total === null ? null : Number(row.total),
    currency: 'USD',
    cancellationReason: row.cancellation_reason,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

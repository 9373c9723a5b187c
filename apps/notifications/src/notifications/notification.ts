import type { NotificationKind } from '@shop/contracts';

export interface NotificationView {
  id: string;
  customerId: string;
  orderId: string;
  type: NotificationKind;
  message: string;
  createdAt: string;
}

export interface NotificationRow {
  id: string;
  customer_id: string;
  order_id: string;
  type: NotificationKind;
  message: string;
  created_at: Date | string;
}

export function toView(row: NotificationRow): NotificationView {
  return {
    id: row.id,
    customerId: row.customer_id,
    orderId: row.order_id,
    type: row.type,
    message: row.message,
    createdAt: new Date(row.created_at).toISOString(),
  };
}

export const dollars = (cents: number) => `$${(cents / 100).toFixed(2)}`;

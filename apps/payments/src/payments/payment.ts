/** What payments knows of an order: CANCELLED before it could charge means it never will. */
export type PaymentOrderStatus = 'AWAITING' | 'CHARGED' | 'DECLINED' | 'CANCELLED';

/** A row of payment_orders. */
export interface PaymentOrderRow {
  order_id: string;
  customer_id: string | null;
  payment_token: string | null;
  status: PaymentOrderStatus;
}

export type PaymentStatus = 'CAPTURED' | 'DECLINED' | 'REFUNDED';

/** A row of payments: at most one per order. */
export interface PaymentRow {
  id: string;
  order_id: string;
  amount: string;
  status: PaymentStatus;
  reason: string | null;
}

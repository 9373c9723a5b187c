import { z } from 'zod';

/** Building blocks of the event schemas. Changing one changes every version using it: the schema lock will tell. */
export const Uuid = z.uuid();
export const CustomerId = z.string().min(1).max(64);
export const Sku = z.string().min(1).max(64);
export const Quantity = z.int().min(1).max(1000);
/** An integer number of cents. */
export const Cents = z.int().min(0);

export const Currency = z.literal('USD');
export type Currency = z.infer<typeof Currency>;

export const CancellationReason = z.enum(['OUT_OF_STOCK', 'PAYMENT_DECLINED', 'CUSTOMER_REQUEST', 'TIMEOUT']);
export type CancellationReason = z.infer<typeof CancellationReason>;

export const PaymentDeclineReason = z.enum(['card_declined', 'insufficient_funds', 'amount_limit']);
export type PaymentDeclineReason = z.infer<typeof PaymentDeclineReason>;

export const NotificationKind = z.enum(['ORDER_CONFIRMED', 'ORDER_CANCELLED', 'PAYMENT_REFUNDED']);
export type NotificationKind = z.infer<typeof NotificationKind>;

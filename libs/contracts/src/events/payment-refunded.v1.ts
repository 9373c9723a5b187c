import { z } from 'zod';
import { Cents, Currency, CustomerId, Uuid } from './shared';

export const PaymentRefundedV1 = z.object({
  orderId: Uuid,
  paymentId: Uuid,
  customerId: CustomerId,
  amount: Cents,
  currency: Currency,
});
export type PaymentRefundedV1Data = z.infer<typeof PaymentRefundedV1>;

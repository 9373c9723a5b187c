import { z } from 'zod';
import { Cents, PaymentDeclineReason, Uuid } from './shared';

export const PaymentDeclinedV1 = z.object({
  orderId: Uuid,
  paymentId: Uuid,
  amount: Cents,
  reason: PaymentDeclineReason,
});
export type PaymentDeclinedV1Data = z.infer<typeof PaymentDeclinedV1>;

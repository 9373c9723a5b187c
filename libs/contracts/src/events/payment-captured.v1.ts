import { z } from 'zod';
import { Cents, Uuid } from './shared';

export const PaymentCapturedV1 = z.object({
  orderId: Uuid,
  paymentId: Uuid,
  amount: Cents,
});
export type PaymentCapturedV1Data = z.infer<typeof PaymentCapturedV1>;

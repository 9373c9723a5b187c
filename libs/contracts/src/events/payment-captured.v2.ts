import { z } from 'zod';
import type { PaymentCapturedV1Data } from './payment-captured.v1';
import { Cents, Currency, Uuid } from './shared';

/** v2 states the currency (a new required field, hence a new version). */
export const PaymentCapturedV2 = z.object({
  orderId: Uuid,
  paymentId: Uuid,
  amount: Cents,
  currency: Currency,
});
export type PaymentCapturedV2Data = z.infer<typeof PaymentCapturedV2>;

/** v1 producers only ever charged USD. */
export const upcastPaymentCapturedV1ToV2 = (v1: PaymentCapturedV1Data): PaymentCapturedV2Data => ({
  ...v1,
  currency: 'USD',
});

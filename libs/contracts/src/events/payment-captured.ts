import { defineEvent, type EventData } from '../define-event';
import { PaymentCapturedV1 } from './payment-captured.v1';
import { PaymentCapturedV2, upcastPaymentCapturedV1ToV2 } from './payment-captured.v2';

export const PaymentCaptured = defineEvent({
  type: 'payment.captured',
  producer: 'payments',
  consumers: ['orders'],
  description: "Payments captured an order's total from the customer.",
  versions: [PaymentCapturedV1, PaymentCapturedV2],
  upcasters: [upcastPaymentCapturedV1ToV2],
});
export type PaymentCapturedData = EventData<typeof PaymentCaptured>;

import { defineEvent, type EventData } from '../define-event';
import { PaymentDeclinedV1 } from './payment-declined.v1';

export const PaymentDeclined = defineEvent({
  type: 'payment.declined',
  producer: 'payments',
  consumers: ['orders'],
  description: "The payment provider declined to charge an order's total.",
  versions: [PaymentDeclinedV1],
  upcasters: [],
});
export type PaymentDeclinedData = EventData<typeof PaymentDeclined>;

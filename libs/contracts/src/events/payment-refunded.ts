import { defineEvent, type EventData } from '../define-event';
import { PaymentRefundedV1 } from './payment-refunded.v1';

export const PaymentRefunded = defineEvent({
  type: 'payment.refunded',
  producer: 'payments',
  consumers: ['notifications'],
  description: 'Payments refunded the captured payment of a cancelled order.',
  versions: [PaymentRefundedV1],
  upcasters: [],
});
export type PaymentRefundedData = EventData<typeof PaymentRefunded>;

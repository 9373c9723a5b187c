import { defineEvent, type EventData } from '../define-event';
import { OrderCancelledV1 } from './order-cancelled.v1';

export const OrderCancelled = defineEvent({
  type: 'order.cancelled',
  producer: 'orders',
  consumers: ['inventory', 'payments', 'notifications'],
  description: 'An order was cancelled; its stock is to be released and a captured payment refunded.',
  versions: [OrderCancelledV1],
  upcasters: [],
});
export type OrderCancelledData = EventData<typeof OrderCancelled>;

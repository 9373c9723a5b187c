import { defineEvent, type EventData } from '../define-event';
import { OrderConfirmedV1 } from './order-confirmed.v1';

export const OrderConfirmed = defineEvent({
  type: 'order.confirmed',
  producer: 'orders',
  consumers: ['inventory', 'notifications'],
  description: 'An order was reserved and paid for, and is now confirmed.',
  versions: [OrderConfirmedV1],
  upcasters: [],
});
export type OrderConfirmedData = EventData<typeof OrderConfirmed>;

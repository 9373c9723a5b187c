import { defineEvent, type EventData } from '../define-event';
import { OrderPlacedV1 } from './order-placed.v1';

export const OrderPlaced = defineEvent({
  type: 'order.placed',
  producer: 'orders',
  consumers: ['inventory', 'payments'],
  description: 'A customer placed an order; it waits for inventory and payment.',
  versions: [OrderPlacedV1],
  upcasters: [],
});
export type OrderPlacedData = EventData<typeof OrderPlaced>;

import { defineEvent, type EventData } from '../define-event';
import { InventoryReservedV1 } from './inventory-reserved.v1';

export const InventoryReserved = defineEvent({
  type: 'inventory.reserved',
  producer: 'inventory',
  consumers: ['payments', 'orders'],
  description: 'Inventory priced an order and reserved the stock of all its lines.',
  versions: [InventoryReservedV1],
  upcasters: [],
});
export type InventoryReservedData = EventData<typeof InventoryReserved>;

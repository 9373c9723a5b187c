import { defineEvent, type EventData } from '../define-event';
import { InventoryRejectedV1 } from './inventory-rejected.v1';

export const InventoryRejected = defineEvent({
  type: 'inventory.rejected',
  producer: 'inventory',
  consumers: ['orders'],
  description: 'Inventory could not reserve an order because some lines are out of stock; nothing was reserved.',
  versions: [InventoryRejectedV1],
  upcasters: [],
});
export type InventoryRejectedData = EventData<typeof InventoryRejected>;

import { defineEvent, type EventData } from '../define-event';
import { InventoryReleasedV1 } from './inventory-released.v1';

export const InventoryReleased = defineEvent({
  type: 'inventory.released',
  producer: 'inventory',
  consumers: [],
  description: 'Inventory released the stock it had reserved for a cancelled order.',
  versions: [InventoryReleasedV1],
  upcasters: [],
});
export type InventoryReleasedData = EventData<typeof InventoryReleased>;

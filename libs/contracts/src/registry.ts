import type { ProducerName } from './app-name';
import type { EventDefinition } from './define-event';
import {
  InventoryRejected,
  InventoryReleased,
  InventoryReserved,
  NotificationSent,
  OrderCancelled,
  StockAdjusted,
  OrderConfirmed,
  OrderPlaced,
  PaymentCaptured,
  PaymentDeclined,
  PaymentRefunded,
} from './events';

export interface EventRegistry {
  readonly all: readonly EventDefinition[];
  find(type: string): EventDefinition | undefined;
  ownedBy(producer: ProducerName): readonly EventDefinition[];
}

export function createEventRegistry(definitions: readonly EventDefinition[]): EventRegistry {
  const byType = new Map<string, EventDefinition>();
  for (const definition of definitions) {
    if (byType.has(definition.type)) throw new Error(`event type ${definition.type} is defined twice`);
    byType.set(definition.type, definition);
  }
  const all = Object.freeze([...definitions]);
  return {
    all,
    find: (type) => byType.get(type),
    ownedBy: (producer) => all.filter((definition) => definition.producer === producer),
  };
}

/** Every event of the system, in saga order. */
export const EVENTS: EventRegistry = createEventRegistry([
  OrderPlaced,
  OrderConfirmed,
  OrderCancelled,
  InventoryReserved,
  InventoryRejected,
  InventoryReleased,
  PaymentCaptured,
  PaymentDeclined,
  PaymentRefunded,
  NotificationSent,
  StockAdjusted,
]);

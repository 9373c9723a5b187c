import { PRODUCER_NAMES } from './app-name';
import { OrderPlaced } from './events';
import { createEventRegistry, EVENTS } from './registry';

/** The Events section of SPEC.md: type -> producing app. */
const SPEC_EVENTS = {
  'order.placed': 'orders',
  'order.confirmed': 'orders',
  'order.cancelled': 'orders',
  'inventory.reserved': 'inventory',
  'inventory.rejected': 'inventory',
  'inventory.released': 'inventory',
  'payment.captured': 'payments',
  'payment.declined': 'payments',
  'payment.refunded': 'payments',
  'notification.sent': 'notifications',
  // the ERP's, published over HTTP through the bridge (issue 17: an HTTP producer that owns a type)
  'stock.adjusted': 'erp',
};

describe('EVENTS', () => {
  it('defines every event type of SPEC.md exactly once, with its producer', () => {
    expect(Object.fromEntries(EVENTS.all.map((e) => [e.type, e.producer]))).toEqual(SPEC_EVENTS);
    expect(EVENTS.all).toHaveLength(Object.keys(SPEC_EVENTS).length);
  });

  it('finds a definition by type (the routing key) and nothing for an unknown type', () => {
    expect(EVENTS.find('order.placed')).toBe(OrderPlaced);
    expect(EVENTS.find('order.shipped')).toBeUndefined();
  });

  it('lists the events each producer publishes to its exchange', () => {
    for (const app of PRODUCER_NAMES) {
      expect(EVENTS.ownedBy(app).map((e) => e.type)).toEqual(
        Object.entries(SPEC_EVENTS)
          .filter(([, producer]) => producer === app)
          .map(([type]) => type),
      );
    }
  });

  it('gives every event a one-sentence description and a version map ending at its latest version', () => {
    for (const definition of EVENTS.all) {
      expect(definition.description).toMatch(/^[A-Z][^.]*\.$/);
      expect([...definition.versions.keys()]).toEqual(Array.from({ length: definition.version }, (_, i) => i + 1));
      expect(definition.versions.get(definition.version)).toBe(definition.schema);
    }
  });

  it('refuses a registry with a type defined twice', () => {
    expect(() => createEventRegistry([OrderPlaced, OrderPlaced])).toThrow('order.placed is defined twice');
  });
});

import { z } from 'zod';
import { createEventRegistry, defineEvent, EVENTS, type EventData, type EventRegistry } from '@shop/contracts';
import { mulberry32 } from '@shop/testing';

/**
 * A large event of realistic JSON, for the compression tests and the messaging benchmark: an order
 * of many lines as a B2B shop sends one (product names, attributes, prices, warehouse and notes), of
 * a test-only type, since no contract of the shop allows more than 50 lines. Produced by orders,
 * consumed by inventory (as order.placed), so that a test app of either can use it.
 */
export const LargeOrderPlaced = defineEvent({
  type: 'order.large-placed',
  producer: 'orders',
  consumers: ['inventory', 'orders'],
  description: 'Test only: an order of many lines (a large event).',
  versions: [
    z.object({
      orderId: z.uuid(),
      customerId: z.string().min(1).max(64),
      lines: z
        .array(
          z.object({
            lineId: z.string().min(1),
            sku: z.string().min(1).max(64),
            name: z.string().min(1),
            quantity: z.int().min(1),
            unitPrice: z.int().min(0),
            currency: z.literal('USD'),
            warehouse: z.string(),
            attributes: z.record(z.string(), z.string()),
            note: z.string().optional(),
          }),
        )
        .min(1),
      shippingAddress: z.object({ name: z.string(), street: z.string(), city: z.string(), country: z.string() }),
    }),
  ],
  upcasters: [],
});
export type LargeOrderData = EventData<typeof LargeOrderPlaced>;

/** The shop's events and the large test event. */
export const LARGE_EVENT_REGISTRY: EventRegistry = createEventRegistry([...EVENTS.all, LargeOrderPlaced]);

const ADJECTIVES = ['stainless', 'organic', 'recycled', 'heavy-duty', 'compact', 'wireless', 'ergonomic', 'matte'];
const NOUNS = ['water bottle', 'desk lamp', 'notebook', 'backpack', 'usb-c cable', 'coffee grinder', 'yoga mat'];
const COLORS = ['midnight blue', 'forest green', 'graphite', 'sand', 'crimson', 'white', 'black'];
const SIZES = ['XS', 'S', 'M', 'L', 'XL', '750 ml', '1 l', '2 m'];
const NOTES = [
  'gift wrap, no invoice in the parcel',
  'deliver to the loading dock before 10:00',
  'customer asked for the new packaging',
  'replaces a damaged item of an earlier order',
];

/**
 * The data of a LargeOrderPlaced whose JSON is about `bytes` long (within a line's size, ~230 B):
 * lines drawn from word lists with random skus, quantities, prices and line ids, so that it
 * compresses as real JSON does (gzip: about 5 to 8 times), not as repeated text.
 */
export function largeOrderData(bytes: number, orderId: string, seed = 1): LargeOrderData {
  const next = mulberry32(seed);
  const pick = <T>(list: readonly T[]) => list[Math.floor(next() * list.length)] as T;
  const hex = (n: number) => Array.from({ length: n }, () => Math.floor(next() * 16).toString(16)).join('');
  const data: LargeOrderData = {
    orderId,
    customerId: `c-${hex(8)}`,
    lines: [],
    shippingAddress: { name: 'Acme Trading GmbH', street: 'Hafenstrasse 12', city: 'Hamburg', country: 'DE' },
  };
  let size = JSON.stringify(data).length;
  while (size < bytes) {
    const line: LargeOrderData['lines'][number] = {
      lineId: `${hex(8)}-${hex(4)}-${hex(4)}-${hex(4)}-${hex(12)}`,
      sku: `SKU-${Math.floor(next() * 1_000_000)
        .toString()
        .padStart(6, '0')}`,
      name: `${pick(ADJECTIVES)} ${pick(NOUNS)}`,
      quantity: 1 + Math.floor(next() * 40),
      unitPrice: 99 + Math.floor(next() * 25_000),
      currency: 'USD',
      warehouse: `WH-${pick(['EU', 'US', 'APAC'])}-${1 + Math.floor(next() * 9)}`,
      attributes: { color: pick(COLORS), size: pick(SIZES), batch: hex(10) },
      ...(next() < 0.25 && { note: pick(NOTES) }),
    };
    data.lines.push(line);
    size += JSON.stringify(line).length + 1;
  }
  return data;
}

import { randomUUID } from 'node:crypto';
import { parseEnvelope, serializeEvent } from '../cloud-event';
import { decodeEvent } from '../decode-event';
import type { EventDefinition } from '../define-event';
import { EVENTS } from '../registry';
import { CancellationReason, NotificationKind, PaymentDeclineReason } from './shared';

const orderId = randomUUID();
const line = { sku: 'SKU-1', quantity: 2 };
/** One valid example of the latest data of every event. */
const EXAMPLES: Record<string, Record<string, unknown>> = {
  'order.placed': {
    orderId,
    customerId: 'c-1',
    items: [line],
    paymentToken: 'tok_visa',
  },
  'order.confirmed': {
    orderId,
    customerId: 'c-1',
    total: 2598,
    currency: 'USD',
  },
  'order.cancelled': {
    orderId,
    customerId: 'c-1',
    reason: 'OUT_OF_STOCK',
    previousStatus: 'PENDING',
  },
  'inventory.reserved': {
    orderId,
    lines: [{ ...line, unitPrice: 1299 }],
    total: 2598,
    currency: 'USD',
  },
  'inventory.rejected': {
    orderId,
    reason: 'OUT_OF_STOCK',
    missing: [{ sku: 'SKU-1', requested: 2, available: 0 }],
  },
  'inventory.released': { orderId, lines: [line] },
  'payment.captured': {
    orderId,
    paymentId: randomUUID(),
    amount: 2598,
    currency: 'USD',
  },
  'payment.declined': {
    orderId,
    paymentId: randomUUID(),
    amount: 2598,
    reason: 'card_declined',
  },
  'payment.refunded': {
    orderId,
    paymentId: randomUUID(),
    customerId: 'c-1',
    amount: 2598,
    currency: 'USD',
  },
  'notification.sent': {
    orderId,
    notificationId: randomUUID(),
    customerId: 'c-1',
    kind: 'ORDER_CONFIRMED',
  },
  'stock.adjusted': { sku: 'SKU-1', delta: -3, reason: 'stock-take' },
};
const cases = EVENTS.all.map((definition): [string, EventDefinition] => [definition.type, definition]);
const rejects = (definition: EventDefinition, patch: Record<string, unknown>) =>
  definition.schema.safeParse({ ...EXAMPLES[definition.type], ...patch }).success === false;

describe.each(cases)('%s', (type, definition) => {
  it('creates an event from valid data that a consumer decodes unchanged', () => {
    const event = definition.create(EXAMPLES[type]);
    expect(decodeEvent(parseEnvelope(serializeEvent(event))).event).toEqual(event);
  });

  it('requires every field of its data, and a UUID order id for an event about an order', () => {
    for (const field of Object.keys(EXAMPLES[type])) {
      const { [field]: _, ...data } = EXAMPLES[type];
      expect(definition.schema.safeParse(data).success).toBe(false);
    }
    if (definition.subjectField === 'orderId') expect(rejects(definition, { orderId: '42' })).toBe(true);
  });

  it('has its subject field as the subject, and refuses an event whose subject is another', () => {
    const event = definition.create(EXAMPLES[type]);
    expect(event.subject).toBe(EXAMPLES[type][definition.subjectField]);
    const other = { ...event, subject: definition.subjectField === 'orderId' ? randomUUID() : 'SKU-OTHER' };
    expect(() => decodeEvent(parseEnvelope(serializeEvent(other)))).toThrow(/subject/);
  });

  it('takes money only as integer cents of 0 or more, in USD', () => {
    for (const field of ['amount', 'total'].filter((f) => f in EXAMPLES[type])) {
      expect(rejects(definition, { [field]: -1 })).toBe(true);
      expect(rejects(definition, { [field]: 12.5 })).toBe(true);
      expect(rejects(definition, { [field]: 0 })).toBe(false);
    }
    if ('currency' in EXAMPLES[type]) expect(rejects(definition, { currency: 'EUR' })).toBe(true);
  });
});

describe('stock.adjusted', () => {
  const definition = EVENTS.find('stock.adjusted') as EventDefinition;

  it('is about a product: its subject is the sku, and the ERP (an HTTP producer) owns it', () => {
    expect(definition.subjectField).toBe('sku');
    expect(definition.producer).toBe('erp');
    expect(definition.consumers).toEqual(['inventory']);
  });

  it('takes a whole, non-zero delta of at most a million units either way', () => {
    for (const delta of [0, 1.5, 1_000_001, -1_000_001]) expect(rejects(definition, { delta })).toBe(true);
    for (const delta of [1, -1, 1_000_000]) expect(rejects(definition, { delta })).toBe(false);
  });
});

describe('shared enums', () => {
  it('list the values SPEC.md names', () => {
    expect(CancellationReason.options).toEqual(['OUT_OF_STOCK', 'PAYMENT_DECLINED', 'CUSTOMER_REQUEST', 'TIMEOUT']);
    expect(PaymentDeclineReason.options).toEqual(['card_declined', 'insufficient_funds', 'amount_limit']);
    expect(NotificationKind.options).toEqual(['ORDER_CONFIRMED', 'ORDER_CANCELLED', 'PAYMENT_REFUNDED']);
  });

  it('are enforced by the events that carry them', () => {
    expect(
      rejects(EVENTS.find('order.cancelled') as EventDefinition, {
        reason: 'BORED',
      }),
    ).toBe(true);
    expect(
      rejects(EVENTS.find('order.cancelled') as EventDefinition, {
        previousStatus: 'CANCELLED',
      }),
    ).toBe(true);
    expect(
      rejects(EVENTS.find('payment.declined') as EventDefinition, {
        reason: 'stolen',
      }),
    ).toBe(true);
    expect(
      rejects(EVENTS.find('notification.sent') as EventDefinition, {
        kind: 'ORDER_PLACED',
      }),
    ).toBe(true);
  });
});

import {
  InventoryRejected,
  InventoryReleased,
  InventoryReserved,
  NotificationSent,
  OrderCancelled,
  OrderConfirmed,
  OrderPlaced,
  PaymentCaptured,
  PaymentDeclined,
  PaymentRefunded,
  type CloudEvent,
  type EventDefinition,
} from '@shop/contracts';
import {
  orderIdOf,
  producerOf,
  summarize,
  SUMMARY_MAX_LENGTH,
  toTimelineEntry,
  toTimelineView,
  traceIdsOf,
} from './timeline-entry.entity';

const ORDER = '6f1c2b8e-3d4a-4c5b-9e7f-0a1b2c3d4e5f';
const PAYMENT = '11111111-2222-4333-8444-555555555555';
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';

describe('traceIdsOf', () => {
  it('splits a traceparent into its trace and span ids', () => {
    expect(traceIdsOf(`00-${TRACE}-${SPAN}-01`)).toEqual({ traceId: TRACE, spanId: SPAN });
  });

  it.each([
    ['no traceparent', undefined],
    ['an empty one', ''],
    ['garbage', 'not-a-traceparent'],
    ['upper-case hex', `00-${TRACE.toUpperCase()}-${SPAN}-01`],
    ['an all-zero trace id', `00-${'0'.repeat(32)}-${SPAN}-01`],
    ['an all-zero span id', `00-${TRACE}-${'0'.repeat(16)}-01`],
    ['a short trace id', `00-${TRACE.slice(1)}-${SPAN}-01`],
  ])('gives nulls for %s', (_what, traceparent) => {
    expect(traceIdsOf(traceparent)).toEqual({ traceId: null, spanId: null });
  });
});

describe('summarize', () => {
  it.each(
    [
      [
        OrderPlaced,
        {
          orderId: ORDER,
          customerId: 'c-1',
          items: [
            { sku: 'SKU-1', quantity: 2 },
            { sku: 'SKU-2', quantity: 1 },
          ],
          paymentToken: 'tok_visa',
        },
        '2 lines, 3 units',
      ],
      [OrderConfirmed, { orderId: ORDER, customerId: 'c-1', total: 3750, currency: 'USD' }, 'total 3750 cents USD'],
      [
        OrderCancelled,
        { orderId: ORDER, customerId: 'c-1', reason: 'CUSTOMER_REQUEST', previousStatus: 'CONFIRMED' },
        'CUSTOMER_REQUEST, was CONFIRMED',
      ],
      [
        InventoryReserved,
        { orderId: ORDER, lines: [{ sku: 'SKU-1', quantity: 1, unitPrice: 2490 }], total: 2490, currency: 'USD' },
        '1 line reserved, total 2490 cents USD',
      ],
      [
        InventoryRejected,
        { orderId: ORDER, reason: 'OUT_OF_STOCK', missing: [{ sku: 'SKU-5', requested: 50, available: 3 }] },
        'OUT_OF_STOCK: SKU-5 (50 requested, 3 available)',
      ],
      [InventoryReleased, { orderId: ORDER, lines: [{ sku: 'SKU-1', quantity: 2 }] }, '1 line, 2 units released'],
      [
        PaymentCaptured,
        { orderId: ORDER, paymentId: PAYMENT, amount: 3750, currency: 'USD' },
        'captured 3750 cents USD',
      ],
      [
        PaymentDeclined,
        { orderId: ORDER, paymentId: PAYMENT, amount: 1600, reason: 'card_declined' },
        'card_declined, 1600 cents',
      ],
      [
        PaymentRefunded,
        { orderId: ORDER, paymentId: PAYMENT, customerId: 'c-1', amount: 1400, currency: 'USD' },
        'refunded 1400 cents USD',
      ],
      [
        NotificationSent,
        { orderId: ORDER, notificationId: PAYMENT, customerId: 'c-1', kind: 'ORDER_CONFIRMED' },
        'ORDER_CONFIRMED',
      ],
    ].map(
      ([definition, data, expected]) => [(definition as EventDefinition).type, definition, data, expected] as const,
    ),
  )('%s', (_type, definition, data, expected) => {
    // valid data of the latest version, as the projection receives it
    expect((definition as EventDefinition).create(data).data).toEqual(data);
    expect(summarize((definition as EventDefinition).type, data)).toBe(expected);
  });

  it('never shows the payment token', () => {
    const summary = summarize('order.placed', {
      orderId: ORDER,
      customerId: 'c-1',
      items: [{ sku: 'SKU-1', quantity: 1 }],
      paymentToken: 'tok_secret',
    });
    expect(summary).not.toMatch(/tok_/);
  });

  it('gives null for an unknown type and for data it cannot read', () => {
    expect(summarize('order.exploded', { orderId: ORDER })).toBeNull();
    expect(summarize('order.placed', null)).toBeNull();
    expect(summarize('inventory.rejected', { orderId: ORDER })).toBeNull();
  });

  it(`cuts a long summary at ${SUMMARY_MAX_LENGTH} characters`, () => {
    const missing = Array.from({ length: 50 }, (_, i) => ({ sku: `SKU-LONG-NAME-${i}`, requested: 9, available: 1 }));
    const summary = summarize('inventory.rejected', { orderId: ORDER, reason: 'OUT_OF_STOCK', missing }) as string;
    expect(summary).toHaveLength(SUMMARY_MAX_LENGTH);
    expect(summary.endsWith('…')).toBe(true);
  });
});

describe('toTimelineEntry', () => {
  const captured = (overrides: Partial<CloudEvent<unknown>> = {}): CloudEvent<unknown> => ({
    ...PaymentCaptured.create(
      { orderId: ORDER, paymentId: PAYMENT, amount: 3750, currency: 'USD' },
      {
        id: 'a0a0a0a0-b1b1-4c2c-8d3d-e4e4e4e4e4e4',
        time: new Date('2026-01-02T03:04:05.678Z'),
        causationId: 'cause-1',
        traceparent: `00-${TRACE}-${SPAN}-01`,
      },
    ),
    ...overrides,
  });

  it('takes the id, order, type, producer, time, trace, cause and summary of an event', () => {
    expect(toTimelineEntry(captured())).toEqual({
      eventId: 'a0a0a0a0-b1b1-4c2c-8d3d-e4e4e4e4e4e4',
      orderId: ORDER,
      type: 'payment.captured',
      producer: 'payments',
      occurredAt: '2026-01-02T03:04:05.678Z',
      traceId: TRACE,
      spanId: SPAN,
      causationId: 'cause-1',
      summary: 'captured 3750 cents USD',
    });
  });

  it('keeps an event without trace context or cause, with nulls', () => {
    const { traceparent: _t, causationid: _c, ...bare } = captured();
    expect(toTimelineEntry(bare as CloudEvent<unknown>)).toMatchObject({
      traceId: null,
      spanId: null,
      causationId: null,
    });
  });

  it('takes the order id from data.orderId when the subject is no UUID, and skips an event naming no order', () => {
    expect(orderIdOf(captured({ subject: 'not-an-order' }))).toBe(ORDER);
    expect(orderIdOf(captured({ subject: ORDER.toUpperCase() }))).toBe(ORDER);
    expect(toTimelineEntry(captured({ subject: 'nope', data: { amount: 1 } }))).toBeUndefined();
    expect(toTimelineEntry(captured({ subject: 'nope', data: null }))).toBeUndefined();
  });

  it('names the producer from the source, else from the owner of the type', () => {
    expect(producerOf(captured({ source: 'urn:shop:payments' }))).toBe('payments');
    expect(producerOf(captured({ source: 'urn:shop:inventory' }))).toBe('inventory');
    expect(producerOf(captured({ source: 'chaos' }))).toBe('payments');
    expect(producerOf(captured({ source: 'urn:shop:elsewhere', type: 'order.exploded' }))).toBeUndefined();
  });
});

describe('toTimelineView', () => {
  it('answers the rows as events, leaving out what is absent', () => {
    expect(
      toTimelineView(ORDER, [
        {
          event_id: 'e-1',
          type: 'order.placed',
          producer: 'orders',
          occurred_at: new Date('2026-01-02T03:04:05.678Z'),
          trace_id: TRACE,
          causation_id: null,
          summary: '1 line, 1 unit',
        },
        {
          event_id: 'e-2',
          type: 'inventory.released',
          producer: 'inventory',
          occurred_at: new Date('2026-01-02T03:04:05.9Z'),
          trace_id: null,
          causation_id: 'e-1',
          summary: null,
        },
      ]),
    ).toEqual({
      orderId: ORDER,
      events: [
        {
          id: 'e-1',
          type: 'order.placed',
          producer: 'orders',
          time: '2026-01-02T03:04:05.678Z',
          traceId: TRACE,
          summary: '1 line, 1 unit',
        },
        {
          id: 'e-2',
          type: 'inventory.released',
          producer: 'inventory',
          time: '2026-01-02T03:04:05.900Z',
          traceId: null,
          causationId: 'e-1',
        },
      ],
    });
  });
});
